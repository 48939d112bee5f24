"""Places of a shared service split among its parties in proportion to their need.

Whole places by the largest-remainder (Hamilton) method: each party gets the whole part of
its exact share, and the places left go one each to the largest remainders (ties to the
larger need, then the code, so the result never depends on dictionary order)."""

from __future__ import annotations

import math


class QuotaError(ValueError):
    pass


def shares(needs: dict[str, float]) -> dict[str, float]:
    if any(v < 0 for v in needs.values()):
        raise QuotaError("a need cannot be negative")
    total = sum(needs.values())
    if total <= 0:
        raise QuotaError("the parties have no need to share the places by")
    return {code: value / total for code, value in needs.items()}


def quotas(places: int, needs: dict[str, float]) -> dict[str, int]:
    if places < 0:
        raise QuotaError("the places cannot be negative")
    exact = {code: share * places for code, share in shares(needs).items()}
    out = {code: math.floor(value + 1e-9) for code, value in exact.items()}
    left = places - sum(out.values())
    order = sorted(exact, key=lambda c: (-(exact[c] - out[c]), -needs[c], c))
    for code in order[:left]:
        out[code] += 1
    return out
