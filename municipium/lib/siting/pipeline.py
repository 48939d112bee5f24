"""One suitability analysis from start to end, on plain inputs (no Django): the study area,
the layers, the criteria, the weights and the need; out come the rasters, the classes, the
candidate sites ranked by TOPSIS and how stable their ranks are.

Constraints exclude: a vector layer's features with a buffer (cells whose centre is within
it), or a raster's values (elevation, groundwater depth) or the slope outside [low, high].
Factors score 0..1: the distance to a vector layer's features, a raster's value or the slope,
each through a fuzzy membership. A cell with no value for a factor (outside a raster) is
excluded and counted. Candidate sites are the contiguous patches of allowed cells scoring at
least the threshold and at least the required area. They are ranked by TOPSIS on the mean
suitability (benefit), the tonne-weighted haul from the members' waste centroids (cost), the
area (benefit) and the compactness (benefit).

Sensitivity re-scores the candidates under changed criterion weights: under WLC the mean
suitability of a patch is the weighted sum of its factors' means, exactly; under OWA the
patch's cells are re-aggregated (at most SENSITIVITY_CELLS cells, an even sample of each
patch).
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from PIL import Image
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, calculate_default_transform, reproject

from . import grid as g
from . import rank
from .layers import warp

SENSITIVITY_CELLS = 200_000
MEASURES = ("distance", "value", "slope")


class PipelineError(ValueError):
    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Criterion:
    code: str
    kind: str  # "constraint" | "factor"
    measure: str  # "distance" (to a vector layer) | "value" (of a raster) | "slope" (percent, of the elevation)
    topic: str  # the layer's topic
    buffer_m: float = 0.0  # constraint on a vector layer
    low: float | None = None  # constraint on values: allowed from
    high: float | None = None  # allowed up to
    shape: str = "linear"  # factor
    benefit: bool = True
    a: float = 0.0
    b: float = 1.0


@dataclass
class Inputs:
    area: object  # shapely polygon, lon/lat
    cell: float
    criteria: list[Criterion]
    weights: dict[str, float]  # factor code -> weight
    vectors: dict[str, list] = field(default_factory=dict)  # topic -> lon/lat geometries
    rasters: dict[str, bytes] = field(default_factory=dict)  # topic -> GeoTIFF
    method: str = "wlc"  # or "owa"
    alpha: float = 1.0
    threshold: float = 0.5
    breaks: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
    min_area_m2: float = 0.0
    sources: list[tuple[str, float, float, float]] = field(default_factory=list)  # (code, lon, lat, tonnes)
    topsis_weights: tuple[float, float, float, float] = (0.4, 0.4, 0.1, 0.1)
    share: float = 0.2
    draws: int = 500
    seed: int = 1
    outlines: bool = True


@dataclass
class Outcome:
    grid: g.Grid
    suitability: np.ndarray  # float32, NaN where excluded
    excluded: np.ndarray  # bool
    labels: np.ndarray
    inside_cells: int
    excluded_cells: int
    no_data_cells: int
    exclusions: list[dict]  # per constraint: {code, cells, area_m2, geometry (lon/lat GeoJSON)}
    classes: list[dict]
    candidates: list[dict]
    stability: rank.Stability | None
    timings: dict[str, float]


def _factor_values(inputs: Inputs, grid: g.Grid, criterion: Criterion, cache: dict) -> np.ndarray:
    key = (criterion.measure, criterion.topic)
    if key in cache:
        return cache[key]
    if criterion.measure == "distance":
        if criterion.topic not in inputs.vectors:
            raise PipelineError("missing_layer", f"no layer for {criterion.topic}", topic=criterion.topic)
        values = g.distance(grid, _projected(inputs, grid, criterion.topic, cache))
    elif criterion.measure in ("value", "slope"):
        if criterion.topic not in inputs.rasters:
            raise PipelineError("missing_layer", f"no layer for {criterion.topic}", topic=criterion.topic)
        values = warp(inputs.rasters[criterion.topic], grid)
        if criterion.measure == "slope":
            values = (np.tan(np.radians(g.slope(values, grid.cell))) * 100).astype(np.float32)
    else:
        raise PipelineError("measure", f"unknown measure {criterion.measure}", measure=criterion.measure)
    cache[key] = values
    return values


def _projected(inputs: Inputs, grid: g.Grid, topic: str, cache: dict) -> list:
    key = ("projected", topic)
    if key not in cache:
        cache[key] = [grid.project(x) for x in inputs.vectors[topic]]
    return cache[key]


def analyse(inputs: Inputs) -> Outcome:
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    grid = g.grid_for(inputs.area, inputs.cell)
    inside = g.burn(grid, [grid.project(inputs.area)])
    if not inside.any():
        raise PipelineError("area", "the study area covers no cell")
    cache: dict = {}
    excluded = ~inside
    exclusions = []
    factors, codes = [], []
    no_data = np.zeros(grid.shape, dtype=bool)
    for criterion in inputs.criteria:
        if criterion.kind == "constraint":
            if criterion.measure == "distance":
                if criterion.topic not in inputs.vectors:
                    raise PipelineError("missing_layer", f"no layer for {criterion.topic}", topic=criterion.topic)
                geometries = _projected(inputs, grid, criterion.topic, cache)
                mask = g.buffer_mask(grid, geometries, criterion.buffer_m)
                outline = None
                if inputs.outlines:
                    zone = shapely.union_all([x.buffer(criterion.buffer_m, quad_segs=8) for x in geometries])
                    zone = zone.intersection(grid.project(inputs.area)).simplify(grid.cell / 2)
                    outline = shapely.geometry.mapping(grid.unproject(zone)) if not zone.is_empty else None
            else:
                values = _factor_values(inputs, grid, criterion, cache)
                with np.errstate(invalid="ignore"):
                    mask = np.zeros(grid.shape, dtype=bool)
                    if criterion.low is not None:
                        mask |= values < criterion.low
                    if criterion.high is not None:
                        mask |= values > criterion.high
                no_data |= np.isnan(values) & inside
                outline = None
            mask &= inside
            exclusions.append(
                {
                    "code": criterion.code,
                    "cells": int(mask.sum()),
                    "area_m2": float(mask.sum()) * grid.cell_area,
                    "geometry": outline,
                }
            )
            excluded |= mask
            lap("constraints")
        elif criterion.kind == "factor":
            values = _factor_values(inputs, grid, criterion, cache)
            no_data |= np.isnan(values) & inside
            factors.append(g.standardise(values, criterion.shape, criterion.benefit, criterion.a, criterion.b))
            codes.append(criterion.code)
            lap("factors")
        else:
            raise PipelineError("kind", f"unknown kind {criterion.kind}", kind=criterion.kind)
    if not factors:
        raise PipelineError("no_factors", "at least one factor is needed")
    missing = [c for c in codes if c not in inputs.weights]
    if missing:
        raise PipelineError("weights", "a factor has no weight", criterion=missing[0])
    weights = np.array([inputs.weights[c] for c in codes], dtype=np.float64)
    if (weights < 0).any() or weights.sum() <= 0:
        raise PipelineError("weights", "the weights must be positive", criterion=codes[0])
    weights = weights / weights.sum()
    excluded |= no_data
    if inputs.method == "wlc":
        suitability = g.wlc(factors, weights)
    elif inputs.method == "owa":
        suitability = g.owa(factors, weights, inputs.alpha)
    else:
        raise PipelineError("method", f"unknown method {inputs.method}", method=inputs.method)
    suitability[excluded] = np.nan
    lap("aggregation")
    allowed = ~excluded
    table = g.classes(suitability, allowed, inputs.breaks, grid.cell_area)
    suitable = allowed & (suitability >= inputs.threshold)
    labels, found = g.patches(grid, suitable, np.nan_to_num(suitability), inputs.min_area_m2)
    lap("patches")
    shapes = g.outlines(grid, labels) if (found and inputs.outlines) else {}
    forward = grid.forward()
    sources = [(code, *forward(lon, lat), tonnes) for code, lon, lat, tonnes in inputs.sources]
    distances, hauls = rank.haul([(p.x, p.y) for p in found], [(x, y, t) for _c, x, y, t in sources])
    back = grid.back()
    candidates = []
    for k, patch in enumerate(found):
        lon, lat = back(patch.x, patch.y)
        candidates.append(
            {
                "label": patch.label,
                "cells": patch.cells,
                "area_m2": patch.area_m2,
                "mean_suitability": patch.mean_suitability,
                "lon": lon,
                "lat": lat,
                "compactness": patch.compactness,
                "haul_km": hauls[k] if sources else 0.0,
                "haul_by_member": {code: distances[k][i] for i, (code, *_r) in enumerate(sources)},
                "factor_means": {},
                "geometry": shapes.get(patch.label),
            }
        )
    stability = None
    if candidates:
        index = labels[labels > 0]
        stack = [f[labels > 0] for f in factors]
        for c, code in enumerate(codes):
            means = (
                np.bincount(index, weights=stack[c], minlength=len(found) + 1)[1:]
                / np.bincount(index, minlength=len(found) + 1)[1:]
            )
            for candidate in candidates:
                candidate["factor_means"][code] = float(means[candidate["label"] - 1])
        scorer = _scorer(inputs, labels, factors, len(found))
        attributes = np.array(
            [[0.0, cand["haul_km"], cand["area_m2"], cand["compactness"]] for cand in candidates], dtype=np.float64
        )
        benefit = [True, False, True, True]

        def rank_for(w: np.ndarray) -> list[int]:
            attributes[:, 0] = scorer(w)
            return rank.ranks(_closeness(attributes, inputs.topsis_weights, benefit))

        attributes[:, 0] = [cand["mean_suitability"] for cand in candidates]
        closeness = _closeness(attributes, inputs.topsis_weights, benefit)
        for cand, value, r in zip(candidates, closeness, rank.ranks(closeness)):
            cand["closeness"] = float(value)
            cand["rank"] = r
        stability = rank.sensitivity(weights, rank_for, inputs.share, inputs.draws, inputs.seed)
        lap("ranking")
    return Outcome(
        grid,
        suitability,
        excluded,
        labels,
        int(inside.sum()),
        int((excluded & inside).sum()),
        int(no_data.sum()),
        exclusions,
        table,
        candidates,
        stability,
        timings,
    )


def _closeness(attributes: np.ndarray, weights, benefit) -> np.ndarray:
    if len(attributes) == 1:
        return np.array([1.0])
    return rank.topsis(attributes, weights, benefit)


def _scorer(inputs: Inputs, labels: np.ndarray, factors: list, count: int):
    """Mean suitability of each candidate under other criterion weights."""
    cells = np.flatnonzero(labels > 0)
    if cells.size > SENSITIVITY_CELLS:
        cells = cells[:: math.ceil(cells.size / SENSITIVITY_CELLS)]
    index = labels.ravel()[cells]
    values = [f.ravel()[cells] for f in factors]
    sizes = np.bincount(index, minlength=count + 1)[1:].astype(np.float64)
    if inputs.method == "wlc":
        means = np.stack([np.bincount(index, weights=v, minlength=count + 1)[1:] / sizes for v in values], axis=1)
        return lambda w: means @ (np.asarray(w) / np.sum(w))

    def owa_means(w):
        scores = g.owa(values, w, inputs.alpha)
        return np.bincount(index, weights=scores, minlength=count + 1)[1:] / sizes

    return owa_means


# --- outputs ---------------------------------------------------------------------------

RAMP = [
    (0.0, (215, 48, 39)),
    (0.25, (252, 141, 89)),
    (0.5, (254, 224, 139)),
    (0.75, (145, 207, 96)),
    (1.0, (26, 152, 80)),
]


def colours(values: np.ndarray) -> np.ndarray:
    """RGBA for suitability 0..1 (red to green); NaN (excluded) is a translucent grey."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0, 1)
    stops = np.array([s for s, _c in RAMP])
    rgb = np.stack([np.interp(v, stops, [c[k] for _s, c in RAMP]) for k in range(3)], axis=-1)
    alpha = np.where(np.isnan(values), 90, 200)[..., None]
    out = np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)
    out[np.isnan(values)] = (120, 120, 120, 90)
    return out


def png(outcome: Outcome, max_side: int = 1200) -> tuple[bytes, tuple[float, float, float, float]]:
    """The suitability as a PNG in Web Mercator (what Leaflet draws), with its (south, west,
    north, east) bounds for an image overlay; at most `max_side` pixels a side."""
    grid = outcome.grid
    west, south, east, north = grid.bounds
    scale = max(1.0, max(grid.width, grid.height) / max_side)
    width, height = max(1, int(grid.width / scale)), max(1, int(grid.height / scale))
    transform, w, h = calculate_default_transform(
        f"EPSG:{grid.epsg}",
        "EPSG:3857",
        grid.width,
        grid.height,
        west,
        south,
        east,
        north,
        dst_width=width,
        dst_height=height,
    )
    out = np.full((h, w), np.nan, dtype=np.float32)
    reproject(
        outcome.suitability,
        out,
        src_transform=grid.transform,
        src_crs=f"EPSG:{grid.epsg}",
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    rgba = colours(out)
    outside = np.zeros(out.shape, dtype=bool)
    # Cells beyond the grid after warping are transparent, not "excluded".
    probe = np.zeros((grid.height, grid.width), dtype=np.float32)
    covered = np.full((h, w), 0, dtype=np.float32)
    reproject(
        probe + 1,
        covered,
        src_transform=grid.transform,
        src_crs=f"EPSG:{grid.epsg}",
        dst_transform=transform,
        dst_crs="EPSG:3857",
        resampling=Resampling.nearest,
    )
    outside = covered == 0
    rgba[outside] = (0, 0, 0, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=6)
    from pyproj import Transformer

    back = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform
    x0, y0 = transform @ (0, h)
    x1, y1 = transform @ (w, 0)
    lon0, lat0 = back(x0, y0)
    lon1, lat1 = back(x1, y1)
    return buffer.getvalue(), (lat0, lon0, lat1, lon1)


def geotiff(outcome: Outcome) -> bytes:
    """The suitability raster (float32, NaN where excluded) as a deflated GeoTIFF."""
    grid = outcome.grid
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{grid.epsg}",
        "transform": grid.transform,
        "nodata": float("nan"),
        "compress": "deflate",
        "tiled": grid.width >= 256 and grid.height >= 256,
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as target:
            target.write(outcome.suitability.astype(np.float32), 1)
            target.update_tags(1, DESCRIPTION="suitability 0-1, NaN excluded")
        return bytes(memory.read())
