"""Secrets handed out once (API tokens, invitation links, personal survey links).

Only a digest is stored. The secrets are long random strings, so a fast hash suffices:
there is nothing to brute-force that a slow hash would protect (unlike a chosen password).
"""

import hashlib


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
