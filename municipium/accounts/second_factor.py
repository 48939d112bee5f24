"""The optional second factor (an authenticator app's six-digit code) for coordinators and
administrators: who may have one, setting it up, checking a code once, recovery codes,
turning it off, and an administrator's reset. Every change is audited; the secrets never
enter the audit trail.

The log-in page asks for the code after the password (`views.LoginView`, `views.code`); a
person with no confirmed second factor logs in with the password alone unless
settings.SECOND_FACTOR_REQUIRED_FOR_ADMINS asks administrators to set one up first.
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from municipium.audit.models import record
from municipium.lib import tokens, totp

from . import access
from .models import SecondFactor

RECOVERY_CODES = 10


def eligible(user) -> bool:
    """Coordinators and administrators: those whose account can change a whole group's data."""
    return bool(user.is_authenticated and (access.is_admin(user) or access.coordinated_groups(user)))


def active(user) -> SecondFactor | None:
    if not user.is_authenticated:
        return None
    return SecondFactor.objects.filter(user=user, confirmed__isnull=False).first()


def must_set_up(user) -> bool:
    """An administrator without one, where the installation requires it."""
    return bool(settings.SECOND_FACTOR_REQUIRED_FOR_ADMINS and access.is_admin(user) and active(user) is None)


def start(user) -> SecondFactor | None:
    """A new, unconfirmed setup key (replacing an unconfirmed one). None while a confirmed
    factor is on: it is turned off first, with a code or the password."""
    if active(user) is not None:
        return None
    factor, _made = SecondFactor.objects.update_or_create(
        user=user, defaults={"secret": totp.new_secret(), "last_step": 0, "recovery": [], "confirmed": None}
    )
    return factor


def _use(factor: SecondFactor, code: str, at: float | None) -> bool:
    """A code is right once: the step it matched must be later than the last one used. The
    conditional UPDATE makes two requests with the same code accept it only once."""
    step = totp.match(factor.secret, code, at)
    if step is None or step <= factor.last_step:
        return False
    used = SecondFactor.objects.filter(pk=factor.pk, last_step__lt=step).update(last_step=step)
    factor.last_step = step
    return bool(used)


def confirm(user, code: str, at: float | None = None) -> list[str] | None:
    """Turn the pending factor on with a first right code; returns the recovery codes (shown
    once) or None when the code is wrong."""
    factor = SecondFactor.objects.filter(user=user, confirmed__isnull=True).first()
    if factor is None or not _use(factor, code, at):
        return None
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _n in range(RECOVERY_CODES)]
    with transaction.atomic():
        factor.confirmed = timezone.now()
        factor.recovery = [tokens.digest(c) for c in codes]
        factor.save()
        record(
            "create",
            factor,
            actor=user,
            after={"user": user.username, "recovery_codes": RECOVERY_CODES},
            via="web",
            note="second factor on",
        )
    return codes


def check(user, code: str, at: float | None = None) -> bool:
    """At log-in: the app's code (once), or one of the recovery codes (which is then used up)."""
    factor = active(user)
    if factor is None:
        return False
    if _use(factor, code, at if at is not None else time.time()):
        return True
    digest = tokens.digest((code or "").strip().lower())
    with transaction.atomic():
        locked = SecondFactor.objects.select_for_update().get(pk=factor.pk)
        if digest not in locked.recovery:
            return False
        locked.recovery = [d for d in locked.recovery if d != digest]
        locked.save(update_fields=["recovery"])
        record(
            "update",
            locked,
            actor=user,
            after={"recovery_codes_left": len(locked.recovery)},
            via="web",
            note="recovery code used",
        )
    return True


def turn_off(actor, user, *, note: str) -> bool:
    """Remove the person's second factor (theirs, after a code or their password; or an
    administrator's reset). Audited; returns whether there was one."""
    with transaction.atomic():
        found = list(SecondFactor.objects.filter(user=user))
        for factor in found:
            record("delete", factor, actor=actor, before={"user": user.username}, via="web", note=note)
        SecondFactor.objects.filter(user=user).delete()
    return bool(found)
