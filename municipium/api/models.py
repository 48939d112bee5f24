"""Per-user API tokens.

A token is shown to its owner once, when it is issued; only its SHA-256 is stored, beside a
short visible prefix that finds the row and lets people tell their tokens apart in lists
and audit trails. The secret is 32 random bytes, so a fast hash is enough: there is nothing
to brute-force that a slow hash would protect (unlike a password a person chose).
"""

import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from municipium.lib.tokens import digest

TOKEN_PREFIX = "mpm"


# The one digest of handed-out secrets; named here as the API has always called it.
hash_secret = digest


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Write")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. 'nightly sync'"))
    # The visible start of the token ("mpm_1a2b3c4d"): finds the row, identifies the token.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, help_text=_("Any of: read, write"))
    # Writes are limited to these units when any are given (and always to the units the
    # owner's roles let them enter).
    units = models.ManyToManyField("places.Unit", blank=True, related_name="+", verbose_name=_("units"))
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        # Shown in audit trails and used as the throttling identity: never the secret.
        return f"{self.prefix} {self.name}"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.hashed, hash_secret(token))


def issue_token(user, name: str, *, scopes=("read",), units=(), expires=None) -> tuple[ApiToken, str]:
    """Create a token for `user` and return it with its secret, which is not stored and
    cannot be shown again. `units` (Unit objects) narrows where the token may write."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    prefix = f"{TOKEN_PREFIX}_{secrets.token_hex(4)}"
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, hashed=hash_secret(secret), scopes=sorted(set(scopes)), expires=expires
    )
    if units:
        token.units.set(units)
    return token, secret
