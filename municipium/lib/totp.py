"""Time-based one-time passwords (RFC 6238 on RFC 4226's HOTP): HMAC-SHA1, 30-second
steps, six digits — what every authenticator app (FreeOTP, Aegis, Google Authenticator,
Microsoft Authenticator) produces from a base32 setup key.

Checked against the RFCs' own vectors (tests/test_totp.py). A code is accepted in the step
it belongs to and one step either side (a phone's clock may be half a minute off); `match`
returns the step so the caller can refuse a code used before (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """A 160-bit key (RFC 4226 recommends at least 128, 160 is what SHA-1 uses), base32."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226, section 5.3: HMAC-SHA1 of the counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step_of(at: float) -> int:
    return int(at // STEP)


def code_at(secret: str, at: float, digits: int = DIGITS) -> str:
    """The code an authenticator shows at Unix time `at`."""
    return code_of_step(secret, step_of(at), digits)


def code_of_step(secret: str, step: int, digits: int = DIGITS) -> str:
    """The code of a time step (step = Unix time // 30)."""
    return hotp(_key(secret), step, digits)


def match(secret: str, code: str, at: float | None = None, window: int = 1) -> int | None:
    """The time step whose code `code` is (within `window` steps of `at`), or None. Spaces
    are ignored; anything but six digits never matches. Compared in constant time."""
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_of(time.time() if at is None else at)
    key = _key(secret)
    found = None
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(hotp(key, step), code):
            found = step
    return found


def setup_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator reads from the QR code (Key Uri Format)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{query}"
