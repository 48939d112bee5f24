"""The throttle on failed log-ins, bad API tokens and bad survey links: one count of
failures per user name and per address within a window (LOGIN_FAILURE_LIMIT within
LOGIN_FAILURE_WINDOW seconds), kept in the database so that it holds across app servers.

Its own module (not the log-in page's) because the API's token check and the respondents'
survey links ask it too, and a model or service must not import a page.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

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
