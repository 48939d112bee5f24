"""Log-in with a throttle: after too many failures for a user name or from one address within
a window, further attempts are refused (even with the right password) until it passes.
Someone with a second factor (an authenticator app) gives its code on a second page before
the session is signed in; the same throttle counts wrong codes."""

import io
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from municipium.lib import totp
from municipium.lib.numbers import format_number

from . import second_factor
from .throttle import client_ip, over_limit, record_failure

# How long the password step stays good while the code is asked for.
PENDING_SECONDS = 300


def _too_many() -> str:
    minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
    return ngettext(
        "Too many failed attempts. Try again in %(minutes)s minute.",
        "Too many failed attempts. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": format_number(minutes, 0)}


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "")[:150]
        ip = client_ip(request)
        if over_limit(username, ip):
            form = self.get_form()
            form.add_error(None, _too_many())
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        """The password was right. With a second factor on, the session is not signed in
        yet: it remembers who passed the first step, for a few minutes, and the code page
        signs in (`login` then gives the session a new key)."""
        user = form.get_user()
        if second_factor.active(user) is not None:
            self.request.session["second_factor"] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return redirect("login-code")
        response = super().form_valid(form)
        if second_factor.must_set_up(user):
            return redirect("second-factor")
        return response

    # Failures are counted by the authentication backend (throttle.ThrottledModelBackend),
    # for this page and the admin's alike; this page only words the refusal kindly.


@never_cache
def code(request):
    """The second step of logging in: the authenticator's code, or a recovery code."""
    pending = request.session.get("second_factor")
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop("second_factor", None)
        messages.error(request, _("Log in again: the time to give the code has passed."))
        return redirect("login")
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("login")
    error = ""
    status = 200
    if request.method == "POST":
        ip = client_ip(request)
        if over_limit(user.get_username(), ip):
            error, status = _too_many(), 429
        elif second_factor.check(user, request.POST.get("code", "")):
            del request.session["second_factor"]
            login(request, user, backend=pending["backend"])
            target = pending.get("next") or settings.LOGIN_REDIRECT_URL
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = settings.LOGIN_REDIRECT_URL
            return redirect(target)
        else:
            record_failure(user.get_username(), ip)
            error = _("The code is not right, or was used already. Type the six digits your app shows now.")
    return render(request, "registration/login_code.html", {"error": error}, status=status)


@never_cache
@login_required
def second_factor_page(request):
    """Setting up, confirming and turning off one's own second factor (coordinators and
    administrators; 404 to others, who have nothing to protect with it)."""
    user = request.user
    if not second_factor.eligible(user):
        raise Http404()
    factor = second_factor.active(user)
    context = {"factor": factor, "recovery_codes": None, "error": ""}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "start" and factor is None:
        second_factor.start(user)
    elif action == "confirm" and factor is None:
        codes = second_factor.confirm(user, request.POST.get("code", ""))
        if codes is None:
            context["error"] = _("The code is not right. Type the six digits your app shows now.")
        else:
            context["recovery_codes"] = codes
            context["factor"] = second_factor.active(user)
            messages.success(request, _("The second factor is on: from now on, log-in asks for its code."))
    elif action == "off" and factor is not None:
        given = request.POST.get("code", "")
        if second_factor.check(user, given) or user.check_password(given):
            second_factor.turn_off(user, user, note="second factor off")
            messages.success(request, _("The second factor is off."))
            return redirect("second-factor")
        context["error"] = _("Give a code from your app, or your password, to turn it off.")
    if context["factor"] is None:
        pending = user.second_factor if hasattr(user, "second_factor") else None
        context["pending"] = pending
    return render(request, "accounts/second_factor.html", context)


@never_cache
@login_required
def second_factor_qr(request):
    """The QR code of the pending setup key, as an SVG image; only while setting up."""
    import segno

    factor = getattr(request.user, "second_factor", None)
    if not second_factor.eligible(request.user) or factor is None or factor.confirmed is not None:
        raise Http404()
    uri = totp.setup_uri(factor.secret, request.user.get_username(), settings.SECOND_FACTOR_ISSUER)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, dark="#000", light="#fff", xmldecl=False)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")
