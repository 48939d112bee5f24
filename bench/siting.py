"""The siting benchmark (issue 17): a suitability analysis of a ~2,000 × 2,000-cell study
area (100 km × 100 km around Qom at 50 m cells) with 10 layers: eight vector layers (the
demo's synthetic ones plus 300 villages, 120 wells and qanats and 40 road segments drawn at
random with a fixed seed) and two rasters (elevation and groundwater depth, ~100 m pixels,
warped onto the grid); the demo's 16 criteria (10 constraints, 6 factors), WLC, the
candidates ranked by TOPSIS with 500 Monte-Carlo weight draws and 12 one-at-a-time changes,
the PNG overlay and the GeoTIFF. Pure library code, no database: the time and peak memory of
this process are the analysis's own.

    python bench/siting.py        # prints one JSON line
"""

import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> dict:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
    django.setup()
    from shapely.geometry import LineString, Point, box

    from municipium.demo import siting as demo
    from municipium.lib.siting import pipeline
    from municipium.siting.starters import LANDFILL

    rng = random.Random(17)
    area = box(50.2, 34.2, 51.29, 35.1)
    vectors = demo.vectors()
    vectors["settlements"] += [Point(rng.uniform(50.2, 51.29), rng.uniform(34.2, 35.1)) for _ in range(300)]
    vectors["wells"] += [Point(rng.uniform(50.2, 51.29), rng.uniform(34.2, 35.1)) for _ in range(120)]
    for _ in range(40):
        x, y = rng.uniform(50.2, 51.29), rng.uniform(34.2, 35.1)
        vectors["roads"].append(LineString([(x, y), (x + rng.uniform(-0.1, 0.1), y + rng.uniform(-0.1, 0.1))]))
    rasters = demo.rasters(bounds=(50.1, 34.1, 51.4, 35.2), size=(1200, 1100))
    rows = LANDFILL["criteria"]
    criteria = [pipeline.Criterion(r[0], *r[2:12]) for r in rows]
    weights = {r[0]: r[12] for r in rows if r[2] == "factor"}
    inputs = pipeline.Inputs(
        area=area,
        cell=50.0,
        criteria=criteria,
        weights=weights,
        vectors=vectors,
        rasters=rasters,
        threshold=0.8,
        min_area_m2=1_150_000,
        sources=[(code, lon, lat, pop * 0.85 * 365 / 1000) for code, (lon, lat, pop) in demo.MEMBERS.items()],
        draws=500,
    )
    started = time.perf_counter()
    outcome = pipeline.analyse(inputs)
    analysed = time.perf_counter()
    image, _bounds = pipeline.png(outcome)
    tiff = pipeline.geotiff(outcome)
    done = time.perf_counter()
    return {
        "siting_cells": f"{outcome.grid.width:,} × {outcome.grid.height:,}",
        "siting_layers": len(vectors) + len(rasters),
        "siting_candidates": len(outcome.candidates),
        "siting_analysis_s": analysed - started,
        "siting_outputs_s": done - analysed,
        "siting_total_s": done - started,
        "siting_peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024,
        "siting_png_mb": len(image) / 1e6,
        "siting_geotiff_mb": len(tiff) / 1e6,
        "siting_timings": {k: round(v, 2) for k, v in outcome.timings.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main()))
