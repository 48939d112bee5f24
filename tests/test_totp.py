"""The one-time-password maths against the RFCs' own test vectors.

RFC 4226 (HOTP), Appendix D: secret "12345678901234567890", counters 0-9.
RFC 6238 (TOTP), Appendix B: the same secret with SHA-1, eight-digit codes at the listed
Unix times; our six-digit codes are their last six digits (truncation modulo 10^d)."""

import base64

import pytest

from municipium.lib import totp

SECRET = base64.b32encode(b"12345678901234567890").decode()

HOTP = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

TOTP = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize("counter,expected", enumerate(HOTP))
def test_hotp_matches_rfc_4226_appendix_d(counter, expected):
    assert totp.hotp(b"12345678901234567890", counter) == expected


@pytest.mark.parametrize("at,expected", TOTP)
def test_totp_matches_rfc_6238_appendix_b(at, expected):
    assert totp.code_at(SECRET, at, digits=8) == expected
    assert totp.code_at(SECRET, at) == expected[-6:]


def test_a_code_matches_its_step_and_one_either_side_only():
    at = 1234567890
    step = totp.step_of(at)
    assert totp.match(SECRET, totp.code_at(SECRET, at), at) == step
    assert totp.match(SECRET, totp.code_at(SECRET, at - 30), at) == step - 1
    assert totp.match(SECRET, totp.code_at(SECRET, at + 30), at) == step + 1
    assert totp.match(SECRET, totp.code_at(SECRET, at - 90), at) is None
    assert totp.match(SECRET, "005 924", at) == step  # spaces are ignored (RFC 6238: 89005924)
    for bad in ("", "12345", "1234567", "abcdef", None):
        assert totp.match(SECRET, bad, at) is None


def test_a_new_secret_is_160_bits_of_base32_and_the_setup_address_names_it():
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    uri = totp.setup_uri(secret, "ana", "Municipium")
    assert uri.startswith("otpauth://totp/Municipium%3Aana?") and f"secret={secret}" in uri and "period=30" in uri
