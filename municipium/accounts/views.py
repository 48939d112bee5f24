"""Log-in with a throttle: after too many failures for a user name or from one address within
a window, further attempts are refused (even with the right password) until it passes."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import LoginAttempt


def client_ip(request) -> str | None:
    # Behind the proxy the deployment guide sets up, REMOTE_ADDR is the proxy; the proxy
    # appends the client's address last to X-Forwarded-For.
    if settings.LOGIN_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def recent_failures(username: str | None, ip: str | None) -> int:
    """Failures within the window for the user name or from the address. Without a user
    name (a failed API token names nobody) only the address counts."""
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    who = Q(username=username.casefold()) if username else Q(pk__in=[])
    if ip:
        who |= Q(ip=ip)
    return LoginAttempt.objects.filter(who, at__gte=since).count()


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "")[:150]
        ip = client_ip(request)
        if recent_failures(username, ip) >= settings.LOGIN_FAILURE_LIMIT:
            form = self.get_form()
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
            form.add_error(
                None, _("Too many failed attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        LoginAttempt.objects.create(
            username=(form.data.get("username") or "")[:150].casefold(), ip=client_ip(self.request)
        )
        return super().form_invalid(form)
