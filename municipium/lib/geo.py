"""Geometry on longitude/latitude for boundaries and maps: polygons read from GeoJSON,
winding, simplification. Pure functions, no Django.

The map in the browser (Vega/d3) wants exterior rings clockwise, the reverse of RFC 7946;
boundaries are normalised on import so that every map draws them the same way. Planning
modules that measure areas or distances (siting, protection zones) project to a metric
CRS with pyproj and work with shapely; this module is only what the stored boundaries need.
"""

import math


def polygons(geometry: dict) -> list | None:
    """A list of polygons (each a list of rings of [lon, lat]) or None when not polygonal."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if coordinates is None:
        return None
    try:
        if kind == "Polygon":
            found = [coordinates]
        elif kind == "MultiPolygon":
            found = list(coordinates)
        else:
            return None
        result = []
        for polygon in found:
            rings = [[(float(x), float(y)) for x, y, *_rest in ring] for ring in polygon]
            if not rings or any(len(ring) < 4 for ring in rings):
                return None
            if any(not (-180 <= x <= 180 and -90 <= y <= 90) for ring in rings for x, y in ring):
                return None
            result.append(rings)
        return result
    except (TypeError, ValueError):
        return None


def signed_area(ring) -> float:
    """Twice the signed area of a ring in the lon/lat plane: positive when counter-clockwise."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:]))


def simplify(ring, tolerance: float):
    """Douglas–Peucker on a closed ring, keeping it closed and at least a triangle."""
    if tolerance <= 0 or len(ring) <= 4:
        return list(ring)
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    # A closed ring has its end on its start; split it at the point farthest from the start.
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - ring[0][0]) ** 2 + (ring[i][1] - ring[0][1]) ** 2)
    keep[far] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        (ax, ay), (bx, by) = ring[first], ring[last]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        best, best_distance = None, tolerance
        for i in range(first + 1, last):
            px, py = ring[i]
            distance = abs(dy * px - dx * py + bx * ay - by * ax) / length if length else math.hypot(px - ax, py - ay)
            if distance > best_distance:
                best, best_distance = i, distance
        if best is not None:
            keep[best] = True
            stack.extend([(first, best), (best, last)])
    simplified = [point for point, kept in zip(ring, keep) if kept]
    return simplified if len(simplified) >= 4 else list(ring)


def shaped(polygons, tolerance: float) -> dict:
    """GeoJSON Polygon or MultiPolygon of `polygons`, simplified within `tolerance`
    degrees, exteriors clockwise and holes counter-clockwise (for d3), at 5 decimals."""
    shaped = []
    for _index, polygon in enumerate(polygons):
        rings = []
        for ring_index, ring in enumerate(polygon):
            ring = simplify(ring, tolerance)
            if len(ring) < 4:
                continue
            clockwise_wanted = ring_index == 0
            if (signed_area(ring) < 0) != clockwise_wanted:
                ring = ring[::-1]
            rings.append([[round(x, 5), round(y, 5)] for x, y in ring])
        if rings:
            shaped.append(rings)
    if len(shaped) == 1:
        return {"type": "Polygon", "coordinates": shaped[0]}
    return {"type": "MultiPolygon", "coordinates": shaped}


def count_points(geometry: dict) -> int:
    """How many positions a Polygon or MultiPolygon has."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(len(ring) for polygon in polygons for ring in polygon)
