"""Who is calling: a bearer token, a person logged in to the site (their browser session),
or nobody (the public); and how often they may call.

A request without an Authorization header and without a logged-in session reads as the
public. A header that is there but wrong (another scheme, an unknown, revoked or expired
token) is refused with 401 rather than quietly downgraded to public: a sync job with a
broken token should fail loudly, not fetch less data than it thinks.

Failed token attempts are counted per address in the database, with the log-in form's
failures (accounts.LoginAttempt, LOGIN_FAILURE_LIMIT within LOGIN_FAILURE_WINDOW seconds),
so the limit holds across app servers. Once an address is over the limit every token it
sends is refused with 429 until the window has passed, a valid one too: answering a valid
token normally would tell a guesser which guess was right at full speed, the very thing the
limit is there to stop. Requests without a token (the public) are not affected.
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import SimpleRateThrottle

from municipium.accounts import access
from municipium.accounts.models import LoginAttempt
from municipium.accounts.throttle import client_ip, recent_failures, record_failure
from municipium.lib.numbers import format_number

from .models import TOKEN_PREFIX, ApiToken

# Requests per caller; settings.API_RATES overrides (None = unlimited).
DEFAULT_RATES = {"anon": "120/min", "token": "600/min", "session": "600/min"}
# last_used is written at most this often per token: a sync job making a hundred calls a
# minute should not make a hundred writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiError(Exception):
    """An error answered with the API's one error schema."""

    def __init__(self, status: int, detail: str, problems: list[dict] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []
        self.headers = headers or {}


@dataclass
class Caller:
    """The user behind a request (anonymous for the public) and the token they used (none
    for a browser session)."""

    user: object = field(default_factory=AnonymousUser)
    token: ApiToken | None = None

    def __str__(self) -> str:
        # Throttling keys on this; never include the secret.
        if self.token:
            return f"token:{self.token.pk}"
        return f"session:{self.user.pk}" if self.user.is_authenticated else "anonymous"

    @property
    def kind(self) -> str:
        """The rate this caller is throttled at (settings.API_RATES)."""
        if self.token:
            return "token"
        return "session" if self.user.is_authenticated else "anon"

    @property
    def label(self) -> str:
        """How the caller is named on the import batch and so in the audit trail."""
        if self.token:
            return f"API token {self.token.prefix} ({self.token.name})"[:255]
        return f"API session of {self.user.get_username()}"[:255]

    @cached_property
    def admin(self) -> bool:
        return access.is_admin(self.user)

    @cached_property
    def insider_units(self) -> set[int]:
        """Units whose unpublished figures the caller sees (access.insider_units)."""
        return access.insider_units(self.user)

    @cached_property
    def insider_groups(self) -> set[int]:
        return access.reached_groups(self.user) if self.user.is_authenticated else set()

    def require_read(self) -> None:
        if self.token is not None and not self.token.has_scope(ApiToken.Scope.READ):
            raise ApiError(403, _("this API token has no read scope"))

    def require_write(self) -> None:
        """A token needs the write scope; a session writes with the person's roles alone
        (which units they may enter is checked per row)."""
        if not self.user.is_authenticated:
            raise ApiError(401, _("this needs an API token: send 'Authorization: Bearer <token>'"))
        if self.token is not None and not self.token.has_scope(ApiToken.Scope.WRITE):
            raise ApiError(403, _("this API token has no write scope"))

    def may_write(self, unit) -> bool:
        """The person may enter the unit's figures and, when the token names units, it is one."""
        if not access.can_enter(self.user, unit):
            return False
        if self.token is None:
            return True
        allowed = self.token_units
        return not allowed or unit.pk in allowed

    @cached_property
    def token_units(self) -> set[int]:
        return set(self.token.units.values_list("pk", flat=True)) if self.token else set()


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mpm_xxxxxxxx_...`."""

    def __call__(self, request):
        header = request.headers.get("Authorization")
        if not header:
            return None
        ip = client_ip(request)
        _refuse_address_under_attack(ip)
        try:
            scheme, _space, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, _("the Authorization header must read 'Bearer <token>'"))
            return self.authenticate(request, token.strip())
        except ApiError as error:
            if error.status == 401:
                record_failure(None, ip)
            raise

    def authenticate(self, request, token: str):
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise ApiError(401, _("this is not a Municipium API token"))
        found = ApiToken.objects.select_related("user").filter(prefix=f"{parts[0]}_{parts[1]}").first()
        # The same answer for an unknown prefix and a wrong secret: no hint which part was right.
        if found is None or not found.matches(token):
            raise ApiError(401, _("the API token is not valid"))
        if found.revoked is not None:
            raise ApiError(401, _("the API token was revoked"))
        if found.is_expired:
            raise ApiError(401, _("the API token has expired"))
        if not found.user.is_active:
            raise ApiError(401, _("the API token's user is inactive"))
        now = timezone.now()
        if found.last_used is None or now - found.last_used > LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=found.pk).update(last_used=now)
        return Caller(user=found.user, token=found)


def _refuse_address_under_attack(ip: str | None) -> None:
    if ip is None or recent_failures(None, ip) < settings.LOGIN_FAILURE_LIMIT:
        return
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    # The limit lifts when the oldest counted failure leaves the window.
    oldest = LoginAttempt.objects.filter(ip=ip, at__gte=timezone.now() - window).order_by("at").first()
    wait = max(1, math.ceil(((oldest.at + window) - timezone.now()).total_seconds())) if oldest else 1
    raise ApiError(
        429,
        ngettext(
            "too many requests with a token that is not valid from this address; try again in %(seconds)s second",
            "too many requests with a token that is not valid from this address; try again in %(seconds)s seconds",
            wait,
        )
        % {"seconds": format_number(wait, 0)},
        headers={"Retry-After": str(wait)},
    )


class SessionCaller(SessionAuth):
    """A person logged in to the site calling from their browser: they read what their
    roles let them see and write what they may enter. Unsafe methods need Django's CSRF
    token (the X-CSRFToken header), so another site cannot make their browser write."""

    def __init__(self):
        super().__init__(csrf=True)

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # no session: the next way of calling (the public) applies
        try:
            return super().__call__(request)
        except HttpError as error:
            raise ApiError(
                403, _("this request from a logged-in browser needs the CSRF token: send it in the X-CSRFToken header")
            ) from error

    def authenticate(self, request, key):
        return Caller(user=request.user)


def anonymous(request) -> Caller:
    """The public: no header at all."""
    return Caller()


class CallerThrottle(SimpleRateThrottle):
    """One budget per token, and one per address for the public; rates read from settings
    on every request so that they can be changed without a restart of the code."""

    scope = "api"

    def __init__(self):  # the rate depends on the caller, so it is set in allow_request
        self.rate = None

    def allow_request(self, request) -> bool:
        caller = getattr(request, "auth", None)
        kind = caller.kind if isinstance(caller, Caller) else "anon"
        rate = {**DEFAULT_RATES, **getattr(settings, "API_RATES", {})}.get(kind)
        if rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)

    def get_cache_key(self, request) -> str:
        caller = getattr(request, "auth", None)
        known = isinstance(caller, Caller) and caller.kind != "anon"
        ident = str(caller) if known else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def reader(request):
    """The person behind a read request of a planning module's router, after the token's read
    scope is checked: their roles decide what the module's own access rules show."""
    caller = request.auth
    caller.require_read()
    return caller.user
