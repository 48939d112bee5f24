"""Spatial accessibility by two-step floating catchment.

2SFCA (Luo & Wang 2003): for each service point j, the ratio of its supply to the demand in
its catchment, R_j = S_j / Σ_i P_i W_ij; for each settlement i, the sum of the ratios of the
service points it reaches, A_i = Σ_j R_j W_ij; W_ij is 1 within the catchment and 0 beyond.
E2SFCA (Luo & Qi 2009) weighs both steps by distance decay: step weights by travel zones
(their 1.00, 0.68, 0.22 for 0–10, 10–20 and 20–30 minutes) or a Gaussian
exp(−d²/2σ²) cut at the catchment's size.

Distances are straight lines measured in a projection (an azimuthal equidistant one centred on
the data, so that distances from the centre are exact and others nearly so at the scale of a
district), or taken from a travel-time matrix (NaN where there is no route).
A service point that no demand reaches has no ratio: its supply counts nowhere, and
`Result.unreached` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


class CatchmentError(ValueError):
    pass


def straight_line_km(
    origins: Sequence[tuple[float, float]], destinations: Sequence[tuple[float, float]]
) -> NDArray[np.float64]:
    """Distances in km between (longitude, latitude) points, origins × destinations."""
    from pyproj import Transformer

    a = np.asarray(origins, dtype=float).reshape(-1, 2)
    b = np.asarray(destinations, dtype=float).reshape(-1, 2)
    both = np.vstack([a, b]) if len(a) + len(b) else np.zeros((0, 2))
    if len(both) == 0:
        return np.zeros((len(a), len(b)))
    if not np.isfinite(both).all() or (np.abs(both[:, 0]) > 180).any() or (np.abs(both[:, 1]) > 90).any():
        raise CatchmentError("a point's longitude or latitude is outside the Earth")
    lon0, lat0 = float(both[:, 0].mean()), float(both[:, 1].mean())
    to_plane = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m", always_xy=True
    )
    ax, ay = to_plane.transform(a[:, 0], a[:, 1])
    bx, by = to_plane.transform(b[:, 0], b[:, 1])
    dx = np.asarray(ax)[:, None] - np.asarray(bx)[None, :]
    dy = np.asarray(ay)[:, None] - np.asarray(by)[None, :]
    return np.hypot(dx, dy) / 1000.0


def weights(
    cost: NDArray[np.float64],
    method: str = "none",
    size: float | None = None,
    steps: Sequence[tuple[float, float]] = (),
    sigma: float | None = None,
) -> NDArray[np.float64]:
    """The decay weights W_ij for a cost matrix (NaN: unreachable, weight 0).

    - "none": 1 within `size`, 0 beyond (the original 2SFCA);
    - "step": zones (limit, weight), a cost up to and including a limit takes its weight;
      beyond the last limit 0 (Luo & Qi's E2SFCA);
    - "gaussian": exp(−d²/2σ²) within `size`, 0 beyond.
    """
    cost = np.asarray(cost, dtype=float)
    reach = np.isfinite(cost)
    if (cost[reach] < 0).any():
        raise CatchmentError("a distance or travel time cannot be negative")
    safe = np.where(reach, cost, np.inf)
    if method == "none":
        if size is None or size <= 0:
            raise CatchmentError("give the catchment's size, above zero")
        return (safe <= size).astype(float)
    if method == "step":
        if not steps:
            raise CatchmentError("give the zones of the step decay")
        ordered = sorted(steps)
        if any(w < 0 or w > 1 for _, w in ordered) or any(limit <= 0 for limit, _ in ordered):
            raise CatchmentError("zone limits are above zero and weights between 0 and 1")
        out = np.zeros_like(safe)
        done = np.zeros(safe.shape, dtype=bool)
        for limit, weight in ordered:
            here = (safe <= limit) & ~done
            out[here] = weight
            done |= here
        return out
    if method == "gaussian":
        if size is None or size <= 0 or sigma is None or sigma <= 0:
            raise CatchmentError("give the catchment's size and the Gaussian's width, both above zero")
        with np.errstate(invalid="ignore", over="ignore"):
            out = np.exp(-(safe**2) / (2 * sigma**2))
        return np.where(safe <= size, out, 0.0)
    raise CatchmentError(f"unknown distance decay: {method}")


@dataclass
class Result:
    ratio: NDArray[np.float64]  # R_j, supply per person of the demand in j's catchment
    access: NDArray[np.float64]  # A_i, supply per person reachable from i
    unreached: NDArray[np.bool_]  # service points no demand reaches


def two_step(demand: Sequence[float], supply: Sequence[float], w: NDArray[np.float64]) -> Result:
    p = np.asarray(demand, dtype=float)
    s = np.asarray(supply, dtype=float)
    w = np.asarray(w, dtype=float)
    if w.shape != (len(p), len(s)):
        raise CatchmentError("the weights are not settlements × service points")
    if (p < 0).any() or (s < 0).any() or not (np.isfinite(p).all() and np.isfinite(s).all()):
        raise CatchmentError("demand and supply are finite and not negative")
    reached = p @ w
    unreached = reached <= 0
    ratio = np.divide(s, reached, out=np.zeros_like(s), where=~unreached)
    return Result(ratio=ratio, access=w @ ratio, unreached=unreached)


def supply_to_demand(
    demand: Sequence[float],
    supply: Sequence[float],
    cost: NDArray[np.float64],
    method: str = "none",
    size: float | None = None,
    steps: Sequence[tuple[float, float]] = (),
    sigma: float | None = None,
) -> Result:
    """2SFCA (method "none") or E2SFCA ("step", "gaussian") from a cost matrix."""
    return two_step(demand, supply, weights(cost, method, size=size, steps=steps, sigma=sigma))
