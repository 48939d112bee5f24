"""Log-in with a throttle: after too many failures for a user name or from one address within
a window, further attempts are refused (even with the right password) until it passes."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.utils.translation import ngettext

from municipium.lib.numbers import format_number

from .throttle import client_ip, over_limit


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "")[:150]
        ip = client_ip(request)
        if over_limit(username, ip):
            form = self.get_form()
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
            message = ngettext(
                "Too many failed attempts. Try again in %(minutes)s minute.",
                "Too many failed attempts. Try again in %(minutes)s minutes.",
                minutes,
            ) % {"minutes": format_number(minutes, 0)}
            form.add_error(None, message)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    # Failures are counted by the authentication backend (throttle.ThrottledModelBackend),
    # for this page and the admin's alike; this page only words the refusal kindly.
