"""The study area as a metric grid and the raster steps of a suitability analysis.

Geometry comes in as longitude/latitude (WGS84) and is projected to the UTM zone of the
area's centre (pyproj's database tells the zone). A cell is square, `cell` metres a side;
the grid's origin is snapped to a multiple of the cell size, so two runs of the same area line
up. A cell belongs to a polygon when its centre lies inside (rasterio's default rule); lines
and points are burnt into every cell they touch when they are sources of distance.

Fuzzy standardisation follows Eastman's IDRISI/TerrSet FUZZY module: two control points
a < b; a benefit factor rises from 0 at a to 1 at b, a cost factor falls from 1 at a to 0 at
b; linear, sigmoid (cosine squared) or J-shaped (1 / (1 + ((x - b) / (b - a))^2) above a,
which is 0.5 at a). Aggregation by weighted linear combination (WLC) or ordered weighted
averaging (OWA; Yager 1988, with order weights from the quantifier Q(p) = p^alpha, and
combined with the criterion weights as in Malczewski 2006).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from rasterio import features
from scipy import ndimage
from shapely.geometry import mapping, shape

from municipium.lib.zones import transform as transform_geometry

MAX_CELLS = 25_000_000


class GridError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS84 UTM zone holding (lon, lat)."""
    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    if not found:
        raise GridError("utm", f"no UTM zone for {lon}, {lat}")

    # Points on a zone edge fall into two zones: take the one whose centre meridian is nearer.
    def distance(info) -> float:
        zone = int((CRS.from_epsg(int(info.code)).utm_zone or "0N")[:-1])
        return abs(lon - (zone * 6 - 183))

    return int(min(found, key=distance).code)


@dataclass(frozen=True)
class Grid:
    epsg: int
    cell: float
    west: float  # metres, projected
    north: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.cell, 0.0, self.west, 0.0, -self.cell, self.north)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def cell_area(self) -> float:
        return self.cell * self.cell

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.west, self.north - self.height * self.cell, self.west + self.width * self.cell, self.north)

    def forward(self):
        return Transformer.from_crs("EPSG:4326", f"EPSG:{self.epsg}", always_xy=True).transform

    def back(self):
        return Transformer.from_crs(f"EPSG:{self.epsg}", "EPSG:4326", always_xy=True).transform

    def project(self, geometry):
        """A lon/lat shapely geometry in the grid's metres."""
        return transform_geometry(self.forward(), geometry)

    def unproject(self, geometry):
        return transform_geometry(self.back(), geometry)

    def centre(self, row: float, col: float) -> tuple[float, float]:
        """Projected coordinates of a (fractional) cell's centre."""
        return (self.west + (col + 0.5) * self.cell, self.north - (row + 0.5) * self.cell)

    def wgs84_bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) in degrees of the grid's outline, for a map overlay."""
        west, south, east, north = self.bounds
        outline = self.unproject(shapely.box(west, south, east, north))
        lon0, lat0, lon1, lat1 = outline.bounds
        return (lat0, lon0, lat1, lon1)


def grid_for(area, cell: float, epsg: int | None = None) -> Grid:
    """The grid covering a lon/lat polygon, in its UTM zone unless `epsg` is given."""
    if not (1 <= cell <= 10_000):
        raise GridError("cell", "the cell size must be between 1 and 10,000 metres")
    if epsg is None:
        centre = area.centroid
        epsg = utm_epsg(centre.x, centre.y)
    grid = Grid(epsg, cell, 0, 0, 1, 1)
    west, south, east, north = grid.project(area).bounds
    west = math.floor(west / cell) * cell
    north = math.ceil(north / cell) * cell
    width = max(1, math.ceil((east - west) / cell))
    height = max(1, math.ceil((north - south) / cell))
    if width * height > MAX_CELLS:
        raise GridError("cells", f"the area needs {width * height} cells, more than {MAX_CELLS}: take larger cells")
    return Grid(epsg, cell, west, north, width, height)


def burn(grid: Grid, geometries, all_touched: bool = False) -> np.ndarray:
    """Boolean raster of the cells covered by projected geometries."""
    shapes = [(g, 1) for g in geometries if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=bool)
    return features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, all_touched=all_touched, dtype="uint8"
    ).astype(bool)


def buffer_mask(grid: Grid, geometries, distance: float) -> np.ndarray:
    """Cells whose centre lies within `distance` metres of a projected geometry (or inside a
    polygon when the distance is 0): a constraint's exclusion zone."""
    if distance < 0:
        raise GridError("buffer", "a buffer cannot be negative")
    grown = [g.buffer(distance, quad_segs=16) if distance > 0 else g for g in geometries]
    polygonal = [g for g in grown if g.area > 0]
    mask = burn(grid, polygonal)
    # A point or line with no buffer still excludes the cells it touches.
    thin = [g for g in grown if g.area == 0 and not g.is_empty]
    if thin:
        mask |= burn(grid, thin, all_touched=True)
    return mask


def distance(grid: Grid, geometries) -> np.ndarray:
    """Metres from each cell's centre to the nearest cell holding a feature (Euclidean
    distance transform on the grid; 0 on the feature). Without features every distance is
    infinite."""
    sources = burn(grid, geometries, all_touched=True)
    if not sources.any():
        return np.full(grid.shape, np.inf, dtype=np.float32)
    out = ndimage.distance_transform_edt(~sources, sampling=(grid.cell, grid.cell))
    return np.asarray(out, dtype=np.float32)


def slope(dem: np.ndarray, cell: float) -> np.ndarray:
    """Slope in degrees by Horn's (1981) third-order finite differences, as GDAL computes it;
    edges use the nearest cells (mode='nearest'), no-data (NaN) spreads to its neighbours."""
    z = np.asarray(dem, dtype=np.float64)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64) / (8 * cell)
    ky = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64) / (8 * cell)
    # correlate: the kernel as written, east minus west and north minus south.
    dzdx = ndimage.correlate(z, kx, mode="nearest")
    dzdy = ndimage.correlate(z, ky, mode="nearest")
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype(np.float32)


SHAPES = ("linear", "sigmoid", "j")


def standardise(values: np.ndarray, shape_: str, benefit: bool, a: float, b: float) -> np.ndarray:
    """Fuzzy membership 0..1 of raw values with control points a < b (see the module text)."""
    if shape_ not in SHAPES:
        raise GridError("shape", f"unknown membership shape {shape_!r}")
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        raise GridError("control", "the second control point must be above the first")
    x = np.asarray(values, dtype=np.float64)
    t = np.clip((x - a) / (b - a), 0.0, 1.0)  # 0 at a, 1 at b
    if shape_ == "linear":
        rising = t
    elif shape_ == "sigmoid":
        rising = np.where(t <= 0, 0.0, np.cos((1.0 - t) * math.pi / 2) ** 2)
    else:
        # J-shaped: 0.5 at a, 1 at and beyond b; below a it keeps falling towards 0.
        with np.errstate(over="ignore", invalid="ignore"):
            rising = np.where(x >= b, 1.0, 1.0 / (1.0 + ((x - b) / (b - a)) ** 2))
    out = rising if benefit else (1.0 - rising if shape_ != "j" else _j_falling(x, a, b))
    out = np.where(np.isnan(x), np.nan, out)
    return np.asarray(np.where(np.isinf(x), 1.0 if benefit else 0.0, out), dtype=np.float32)


def _j_falling(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """The J-shaped cost curve: 1 up to a, 0.5 at b, falling towards 0 beyond."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x <= a, 1.0, 1.0 / (1.0 + ((x - a) / (b - a)) ** 2))


def wlc(factors, weights) -> np.ndarray:
    """Weighted linear combination of standardised factors (weights summing to 1)."""
    w = _weights(weights, len(factors))
    out = np.zeros_like(np.asarray(factors[0], dtype=np.float32))
    for f, wi in zip(factors, w):
        out += np.float32(wi) * np.asarray(f, dtype=np.float32)
    return out


def order_weights(n: int, alpha: float) -> np.ndarray:
    """Yager's order weights from the quantifier Q(p) = p^alpha: alpha 1 spreads them evenly
    (WLC), alpha -> 0 gives all to the best value (OR, risk-taking), alpha -> infinity all to
    the worst (AND, risk-averse)."""
    if not (0 < alpha < math.inf):
        raise GridError("alpha", "the risk attitude must be a positive number")
    p = np.arange(n + 1) / n
    return np.diff(p**alpha)


def owa(factors, weights, alpha: float) -> np.ndarray:
    """Ordered weighted average: at every cell the factors are sorted from best to worst,
    each criterion weight u is multiplied by the order weight v of its position, and the
    products, normalised, weight the sorted values (Malczewski 2006)."""
    n = len(factors)
    u = _weights(weights, n).astype(np.float32)
    v = order_weights(n, alpha).astype(np.float32)
    stack = np.stack([np.asarray(f, dtype=np.float32) for f in factors])
    order = np.argsort(-stack, axis=0, kind="stable")
    z = np.take_along_axis(stack, order, axis=0)
    uv = u[order] * v[:, None, None] if stack.ndim == 3 else u[order] * v[:, None]
    total = uv.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((uv * z).sum(axis=0) / total, dtype=np.float32)


def _weights(weights, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise GridError("weights", "one non-negative weight per factor is needed")
    return w / w.sum()


def classes(suitability: np.ndarray, allowed: np.ndarray, breaks, cell_area: float) -> list[dict]:
    """Area of each suitability class inside the allowed cells; classes are [break_k,
    break_k+1) on 0..1, the last one closed. Returns [{low, high, cells, area_m2}]."""
    edges = [0.0, *sorted(float(b) for b in breaks), 1.0]
    values = suitability[allowed]
    out = []
    for k, (low, high) in enumerate(zip(edges, edges[1:])):
        last = k == len(edges) - 2
        inside = (values >= low) & ((values <= high) if last else (values < high))
        cells = int(inside.sum())
        out.append({"low": low, "high": high, "cells": cells, "area_m2": cells * cell_area})
    return out


@dataclass(frozen=True)
class Patch:
    label: int
    cells: int
    area_m2: float
    mean_suitability: float
    x: float  # centroid, projected metres
    y: float
    compactness: float  # 4 pi area / perimeter^2 of the patch outline, 1 for a circle


def patches(grid: Grid, suitable: np.ndarray, suitability: np.ndarray, min_area_m2: float):
    """Contiguous suitable patches (cells sharing an edge) of at least `min_area_m2`:
    (the labelled raster, [Patch] largest first)."""
    labels, count = ndimage.label(suitable)
    if count == 0:
        return labels, []
    index = np.arange(1, count + 1)
    sizes = ndimage.sum_labels(suitable, labels, index)
    keep = index[sizes * grid.cell_area >= min_area_m2]
    if keep.size == 0:
        return np.zeros_like(labels), []
    means = ndimage.mean(suitability, labels, keep)
    centres = ndimage.center_of_mass(suitable, labels, keep)
    # Perimeter: the cell edges between a patch cell and a cell outside it.
    out = []
    relabelled = np.zeros_like(labels)
    for k, (label, mean, (row, col)) in enumerate(zip(keep, np.atleast_1d(means), centres), start=1):
        inside = labels == label
        relabelled[inside] = k
        cells = int(inside.sum())
        padded = np.pad(inside, 1)
        edges = int((padded[1:, :] != padded[:-1, :]).sum() + (padded[:, 1:] != padded[:, :-1]).sum())
        perimeter = edges * grid.cell
        area = cells * grid.cell_area
        x, y = grid.centre(row, col)
        out.append(Patch(k, cells, area, float(mean), x, y, 4 * math.pi * area / perimeter**2))
    order = sorted(out, key=lambda p: -p.area_m2)
    return relabelled, order


def outlines(grid: Grid, labels: np.ndarray) -> dict[int, dict]:
    """The outline of each labelled patch as a lon/lat GeoJSON (Multi)Polygon."""
    found: dict[int, list] = {}
    for geometry, value in features.shapes(labels.astype(np.int32), mask=labels > 0, transform=grid.transform):
        found.setdefault(int(value), []).append(shape(geometry))
    return {k: mapping(grid.unproject(shapely.union_all(parts))) for k, parts in found.items()}
