"""Protection zones of a shared water source: zones as polygons or as distance buffers around
an intake or a reservoir outline, intersected with the municipalities' boundaries in a metric
projection, and a plain SVG map (no tile server). Pure shapely/pyproj, no Django.

Areas are measured in a Lambert azimuthal equal-area projection centred on the zone, so a
square kilometre is a square kilometre wherever the source lies (the stored geometry is
longitude/latitude, WGS84).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pyproj import Transformer
from shapely import make_valid
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union

MAX_VERTICES = 200_000
MAX_DISTANCE_M = 50_000


class ZoneError(ValueError):
    pass


def _polygonal(geometry):
    if isinstance(geometry, (Polygon, MultiPolygon)):
        return geometry
    if isinstance(geometry, GeometryCollection):
        parts = [g for g in geometry.geoms if isinstance(g, (Polygon, MultiPolygon))]
        if parts:
            return unary_union(parts)
    return None


def read_geometry(data: dict):
    """A polygonal geometry from GeoJSON (a geometry, a Feature or a FeatureCollection of
    polygons), repaired when self-intersecting; ZoneError says what is wrong."""
    if not isinstance(data, dict):
        raise ZoneError(_("the file is not a GeoJSON object"))
    kind = data.get("type")
    if kind == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features") or [] if isinstance(f, dict)]
    elif kind == "Feature":
        geometries = [data.get("geometry")]
    else:
        geometries = [data]
    shapes = []
    for n, geometry in enumerate(geometries, start=1):
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
            "Point",
            "LineString",
        ):
            raise ZoneError(_("feature %(n)s is not a polygon, line or point") % {"n": n})
        try:
            found = shape(geometry)
        except (ValueError, TypeError, AttributeError) as error:
            raise ZoneError(_("feature %(n)s cannot be read: %(error)s") % {"n": n, "error": error}) from error
        minx, miny, maxx, maxy = found.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ZoneError(_("feature %(n)s is not in longitude/latitude (WGS84, EPSG:4326)") % {"n": n})
        shapes.append(found if found.is_valid else make_valid(found))
    if not shapes:
        raise ZoneError(_("the file holds no geometry"))
    merged = unary_union(shapes)
    if _vertices(merged) > MAX_VERTICES:
        raise ZoneError(
            ngettext(
                "the geometry has more than %(limit)s point",
                "the geometry has more than %(limit)s points",
                MAX_VERTICES,
            )
            % {"limit": MAX_VERTICES}
        )
    return merged


def _vertices(geometry) -> int:
    if hasattr(geometry, "geoms"):
        return sum(_vertices(g) for g in geometry.geoms)
    if isinstance(geometry, Polygon):
        return len(geometry.exterior.coords) + sum(len(r.coords) for r in geometry.interiors)
    return len(getattr(geometry, "coords", []))


def transform(function, geometry):
    """Apply a pyproj transform (x, y arrays → x, y arrays) to every coordinate."""
    return shapely.transform(geometry, lambda x, y: function(x, y), interleaved=False)


def _projection(geometry):
    centre = geometry.centroid
    crs = f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m +no_defs"
    forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform
    return forward, back


def buffered(source, distance_m: float):
    """The zone within `distance_m` metres of a point (an intake) or an outline (a reservoir)."""
    if not (0 < distance_m <= MAX_DISTANCE_M):
        raise ZoneError(_("the distance must be between 0 and %(limit)s metres") % {"limit": MAX_DISTANCE_M})
    forward, back = _projection(source)
    return transform(back, transform(forward, source).buffer(distance_m, quad_segs=32))


def zone_polygon(geometry):
    found = _polygonal(geometry)
    if found is None or found.is_empty:
        raise ZoneError(_("a zone must be an area: give polygons, or a distance to draw around the point or line"))
    return found


@dataclass(frozen=True)
class Share:
    code: str
    area_km2: float  # of the zone inside the unit
    share_of_zone: float  # 0..1
    share_of_unit: float  # 0..1


def shares(zone, boundaries: dict[str, dict]) -> list[Share]:
    """Area of the zone inside each unit's boundary (GeoJSON), in km², and the shares."""
    forward, _back = _projection(zone)
    metric_zone = transform(forward, zone)
    total = metric_zone.area
    out = []
    for code, geometry in boundaries.items():
        if not geometry:
            continue
        unit = shape(geometry)
        unit = unit if unit.is_valid else make_valid(unit)
        metric_unit = transform(forward, unit)
        inside = metric_zone.intersection(metric_unit).area
        if inside <= 0:
            continue
        out.append(
            Share(
                code,
                inside / 1e6,
                inside / total if total else 0.0,
                inside / metric_unit.area if metric_unit.area else 0.0,
            )
        )
    return sorted(out, key=lambda s: -s.area_km2)


def to_geojson(geometry) -> dict:
    return mapping(geometry)


def svg_paths(layers: list[tuple[str, Any]], width: int = 640, height: int = 420):
    """Path data for an SVG map of several layers [(css class, geometry)], fitted to the view:
    a plain equirectangular projection with the longitude scaled by cos(latitude), enough for
    the few kilometres of a water source. Returns (view box, [(css class, d)])."""
    import math

    geometries = [g for _c, g in layers if g is not None and not g.is_empty]
    if not geometries:
        return f"0 0 {width} {height}", []
    minx, miny, maxx, maxy = unary_union(geometries).bounds
    k = math.cos(math.radians((miny + maxy) / 2))
    span_x, span_y = max((maxx - minx) * k, 1e-9), max(maxy - miny, 1e-9)
    scale = min((width - 20) / span_x, (height - 20) / span_y)

    def point(x, y):
        return f"{10 + (x - minx) * k * scale:.1f},{height - 10 - (y - miny) * scale:.1f}"

    def rings(geometry):
        polygons = geometry.geoms if hasattr(geometry, "geoms") else [geometry]
        for polygon in polygons:
            if isinstance(polygon, Polygon):
                yield polygon.exterior.coords
                yield from (r.coords for r in polygon.interiors)

    paths = []
    for css, geometry in layers:
        if geometry is None or geometry.is_empty:
            continue
        d = " ".join("M" + " L".join(point(x, y) for x, y, *_z in ring) + " Z" for ring in rings(geometry))
        paths.append((css, d))
    return f"0 0 {width} {height}", paths
