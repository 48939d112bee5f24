"""The throttle on failed log-ins, bad API tokens and bad survey links: one count of
failures per user name and per address within a window (LOGIN_FAILURE_LIMIT within
LOGIN_FAILURE_WINDOW seconds), kept in the database so that it holds across app servers.

Its own module (not the log-in page's) because the API's token check and the respondents'
survey links ask it too, and a model or service must not import a page.
"""

import datetime as dt
import unicodedata

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from .models import LoginAttempt


def normalised(username: str | None) -> str:
    """The user name as the log-in form reads it (NFKC, as Django's UsernameField), folded:
    "ａｄｍｉｎ" and "Admin" count as "admin", so look-alike spellings share one count."""
    return unicodedata.normalize("NFKC", username or "")[:150].casefold()


def _address(text: str | None):
    import ipaddress

    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def trusted_proxy(text: str | None) -> bool:
    """Is this address one of settings.TRUSTED_PROXIES (addresses or networks)?"""
    import ipaddress

    address = _address(text)
    if address is None:
        return False
    for entry in settings.TRUSTED_PROXIES:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request) -> str | None:
    """The address failures are counted by. X-Forwarded-For is believed only when the request
    comes from a trusted proxy (settings.TRUSTED_PROXIES, with LOGIN_TRUST_FORWARDED_FOR on):
    then the client is the last hop that is not itself a trusted proxy. From anywhere else the
    header is ignored, so rotating it gains nothing."""
    remote = request.META.get("REMOTE_ADDR") or None
    if settings.LOGIN_TRUST_FORWARDED_FOR and trusted_proxy(remote):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not trusted_proxy(hop):
                return str(_address(hop)) if _address(hop) is not None else remote
    return remote


def recent_failures(username: str | None, ip: str | None) -> int:
    """Failures within the window for the user name or from the address. Without a user
    name (a failed API token names nobody) only the address counts."""
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    who = Q(username=normalised(username)) if username else Q(pk__in=[])
    if ip:
        who |= Q(ip=ip)
    return LoginAttempt.objects.filter(who, at__gte=since).count()


def over_limit(username: str | None, ip: str | None) -> bool:
    return recent_failures(username, ip) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username: str | None, ip: str | None) -> None:
    LoginAttempt.objects.create(username=normalised(username), ip=ip)


class ThrottledModelBackend(ModelBackend):
    """The one throttle for every way to log in (the site's page, the admin's, anything
    that calls `authenticate`): over the limit, even the right password is refused, and
    every failure counts. Before this the admin's log-in page had no throttle at all."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        ip = client_ip(request) if request is not None else None
        if over_limit(username, ip):
            raise PermissionDenied  # stops every backend: nobody gets in while throttled
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None:
            record_failure(username, ip)
        return user
