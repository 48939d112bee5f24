"""Who is calling: a bearer token, or nobody (the public); and how often they may call.

A request without an Authorization header reads as the public. A header that is there but
wrong (another scheme, an unknown, revoked or expired token) is refused with 401 rather than
quietly downgraded to public: a sync job with a broken token should fail loudly, not fetch
less data than it thinks.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from municipium.accounts import access
from municipium.places.models import Membership

from .models import TOKEN_PREFIX, ApiToken

# Requests per caller; settings.API_RATES overrides (None = unlimited).
DEFAULT_RATES = {"anon": "120/min", "token": "600/min"}
# last_used is written at most this often per token: a sync job making a hundred calls a
# minute should not make a hundred writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiError(Exception):
    """An error answered with the API's one error schema."""

    def __init__(self, status: int, detail: str, problems: list[dict] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


@dataclass
class Caller:
    """The user behind a request (anonymous for the public) and the token they used."""

    user: object = field(default_factory=AnonymousUser)
    token: ApiToken | None = None

    def __str__(self) -> str:
        # Throttling keys on this; never include the secret.
        return f"token:{self.token.pk}" if self.token else "anonymous"

    @cached_property
    def admin(self) -> bool:
        return access.is_admin(self.user)

    @cached_property
    def insider_units(self) -> set[int]:
        """Units whose unpublished figures the caller sees (access.sees_unpublished, for
        many units at once): the units their roles reach and the members of the groups
        they are inside."""
        if not self.user.is_authenticated:
            return set()
        units = access.reached_units(self.user)
        groups = access.reached_groups(self.user)
        if groups:
            units |= set(Membership.objects.filter(group_id__in=groups).values_list("unit_id", flat=True))
        return units

    @cached_property
    def insider_groups(self) -> set[int]:
        return access.reached_groups(self.user) if self.user.is_authenticated else set()

    def require_read(self) -> None:
        if self.token is not None and not self.token.has_scope(ApiToken.Scope.READ):
            raise ApiError(403, _("this API token has no read scope"))


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mpm_xxxxxxxx_...`."""

    def __call__(self, request):
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _space, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, _("the Authorization header must read 'Bearer <token>'"))
        return self.authenticate(request, token.strip())

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
        kind = "token" if isinstance(caller, Caller) and caller.token else "anon"
        rate = {**DEFAULT_RATES, **getattr(settings, "API_RATES", {})}.get(kind)
        if rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)

    def get_cache_key(self, request) -> str:
        caller = getattr(request, "auth", None)
        ident = str(caller) if isinstance(caller, Caller) and caller.token else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
