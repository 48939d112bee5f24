"""Demo siting: a landfill for the Qom municipalities' cooperation, on SYNTHETIC layers.

Every layer here is invented for the demo and says so in its file name: a study area around
Qom, settlements (Qom as an area, towns and villages as points), the Qom river and its flood
zone, qanats, roads, an airport, a fault, protected land, and elevation and groundwater depth
rasters. The shapes are placed roughly where such things are, but they are not survey data.
The project adopts the Iranian guidance criteria set (the Department of Environment's
exclusions, the Management and Planning Organization's distances, literature defaults
elsewhere) and three experts' AHP judgements (also invented), and runs once at coarse cells so that the demo loads quickly. Everything
goes through the services the pages call, the layers as uploaded files. Loading twice
changes nothing.
"""

from __future__ import annotations

import json

import numpy as np
from affine import Affine
from rasterio.io import MemoryFile
from shapely.geometry import LineString, Point, box, mapping

from municipium.places.models import Group, Unit

AREA = box(50.2, 34.3, 51.25, 34.95)
# Waste centroids of the members (approximate town centres) and populations as in the demo figures.
MEMBERS = {
    "IR-QOM-01": (50.88, 34.64, 1_201_000),
    "IR-QOM-02": (50.51, 34.77, 3_300),
    "IR-QOM-03": (50.86, 34.39, 3_400),
    "IR-QOM-06": (51.01, 34.61, 8_900),
}
# Three experts' judgements on the starter set's six factors (invented for the demo), in the
# set's order: settlements, roads, rivers, wells, slope, groundwater.
FACTORS = ["far-from-settlements", "near-roads", "far-from-rivers", "far-from-wells", "gentle-slope", "deep-water"]
EXPERTS = {
    "Expert A (demo, hydrogeologist)": [1, 2, 1 / 2, 1 / 2, 3, 1 / 2, 1 / 2, 2, 1 / 4, 1, 4, 1 / 2, 3, 1 / 2, 1 / 5],
    "Expert B (demo, municipal engineer)": [1 / 2, 1, 1, 3, 1 / 2, 1, 1, 4, 1, 2, 4, 1, 3, 1 / 2, 1 / 4],
    "Expert C (demo, environment officer)": [2, 1, 1, 3, 1 / 2, 1 / 2, 1 / 2, 2, 1 / 3, 1, 3, 1 / 2, 3, 1, 1 / 4],
}


def _pairs(values) -> dict:
    out, k = {}, 0
    for i, a in enumerate(FACTORS):
        for b in FACTORS[i + 1 :]:
            out[f"{a}|{b}"] = values[k]
            k += 1
    return out


def vectors() -> dict[str, list]:
    """The synthetic vector layers, lon/lat shapely geometries by topic."""
    river = LineString([(50.2, 34.58), (50.55, 34.62), (50.88, 34.655), (51.05, 34.72), (51.25, 34.8)])
    return {
        "settlements": [
            Point(50.88, 34.64).buffer(0.055),
            *[Point(lon, lat) for code, (lon, lat, _p) in MEMBERS.items() if code != "IR-QOM-01"],
            Point(50.46, 34.48),
            Point(50.25, 34.55),
            Point(50.70, 34.52),
            Point(51.12, 34.85),
            Point(50.62, 34.88),
        ],
        "rivers": [river, LineString([(50.7, 34.35), (50.78, 34.5), (50.83, 34.62)])],
        "wells": [
            LineString([(50.95, 34.45), (50.99, 34.5), (51.02, 34.56)]),
            LineString([(50.35, 34.7), (50.42, 34.74), (50.5, 34.76)]),
            Point(50.6, 34.45),
            Point(51.15, 34.62),
            Point(50.32, 34.4),
        ],
        "roads": [
            LineString([(50.88, 34.64), (50.97, 34.8), (51.05, 34.95)]),  # to Tehran
            LineString([(50.88, 34.64), (51.05, 34.5), (51.25, 34.38)]),  # to Kashan
            LineString([(50.88, 34.64), (50.6, 34.76), (50.2, 34.9)]),  # to Saveh
            LineString([(50.88, 34.64), (50.86, 34.39), (50.8, 34.3)]),  # to Kahak
            LineString([(50.88, 34.64), (50.46, 34.48), (50.25, 34.55)]),  # to Salafchegan
        ],
        "airports": [Point(50.84, 34.56)],
        "faults": [LineString([(50.2, 34.82), (50.7, 34.7), (51.25, 34.55)])],
        "protected": [box(51.05, 34.38, 51.22, 34.5), box(50.22, 34.32, 50.35, 34.42)],
        "flood": [river.buffer(0.008)],
    }


def geojson(geometries) -> bytes:
    features = [{"type": "Feature", "properties": {"synthetic": True}, "geometry": mapping(g)} for g in geometries]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def rasters(bounds=(50.15, 34.25, 51.3, 35.0), size=(300, 200)) -> dict[str, bytes]:
    """Synthetic elevation (m) and groundwater depth (m) rasters in longitude/latitude."""
    west, south, east, north = bounds
    width, height = size
    transform = Affine((east - west) / width, 0, west, 0, -(north - south) / height, north)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    lon = west + cols * (east - west) / width
    lat = north - rows * (north - south) / height
    # Plain at ~900 m rising to hills in the south-west (the Kahak heights) and a ridge in the north.
    elevation = (
        900
        + 900 * np.exp(-(((lon - 50.45) / 0.18) ** 2 + ((lat - 34.35) / 0.12) ** 2))
        + 350 * np.exp(-(((lat - 34.93) / 0.05) ** 2))
        + 25 * np.sin(lon * 40) * np.cos(lat * 35)
    )
    # Groundwater shallow near the river, deeper away from it and under the hills.
    river_lat = 34.58 + (lon - 50.2) * 0.2
    depth = 4 + 55 * (1 - np.exp(-(((lat - river_lat) / 0.12) ** 2))) + (elevation - 900) * 0.05
    out = {}
    for topic, values in (("elevation", elevation), ("groundwater", depth)):
        with MemoryFile() as memory:
            with memory.open(
                driver="GTiff",
                width=width,
                height=height,
                count=1,
                dtype="float32",
                crs="EPSG:4326",
                transform=transform,
                nodata=-9999,
            ) as target:
                target.write(values.astype(np.float32), 1)
            out[topic] = bytes(memory.read())
    return out


def load_siting(cell: float = 500.0) -> None:
    from municipium.siting import services, starters
    from municipium.siting.models import Expert, Project

    group = Group.objects.filter(code="qom-cooperation").first()
    if group is None or Project.objects.filter(code="qom-landfill").exists():
        return
    project = services.save_project(
        None,
        Project(
            code="qom-landfill",
            name="Qom regional sanitary landfill (demo, synthetic layers)",
            group=group,
            cell=cell,
            years=20,
            growth=0.014,
            kg_per_person_day=0.85,
            threshold=0.92,
            synthetic=True,
        ),
    )
    for code, (lon, lat, population) in MEMBERS.items():
        unit = Unit.objects.filter(code=code).first()
        if unit is not None:
            services.save_member(
                None, services.Member(project=project, unit=unit, population=population, lon=lon, lat=lat)
            )
    services.set_area(None, project, data=geojson([AREA]), name="synthetic-study-area.geojson")
    for topic, geometries in vectors().items():
        services.upload_layer(None, project, topic, geojson(geometries), f"synthetic-{topic}.geojson", synthetic=True)
    for topic, data in rasters().items():
        services.upload_layer(None, project, topic, data, f"synthetic-{topic}.tif", synthetic=True)
    # The Iranian guidance set: the Department of Environment's exclusions and the Management
    # and Planning Organization's distances, literature defaults where neither gives a number.
    iranian = next(s for s in starters.ensure() if s.name == starters.IRAN["name"])
    services.adopt(None, project, iranian)
    for name, values in EXPERTS.items():
        services.save_expert(None, Expert(project=project, name=name, judgements=_pairs(values)))
    services.run(None, project, draws=200)
