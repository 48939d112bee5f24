"""Country-scale benchmarks, on SQLite and on PostgreSQL. Not tests: `make bench`.

    python bench/run.py [--units 2500] [--indicators 1000] [--years 20] [--variables 100]
                        [--db sqlite,postgres] [--pg postgres://postgres@127.0.0.1:5432/postgres]

For each database it builds a fresh installation (a new SQLite file, a new PostgreSQL
database), generates a catalogue of ratio, difference and growth indicators over synthetic
variables, units in regions and peer groups, and then measures, each in its own process so
that peak memory is that step's own:

1. import throughput: the observations as 1-million-row CSV files (`--import-rows`) through the real importer
   (parse, check, write, revisions) with the task queue in the database, as in production, and
   a bare `polars.read_csv` of the same files beside it;
2. full recompute of every indicator value and group statistic (time and peak memory);
3. save-to-derived latency: one observation saved through the write path while a real task
   worker runs, until its indicator values show the change;
4. pages: server time of the unit profile and the indicator page (cold and warm, p95) and the
   indicator page's weight with its assets and map data;
5. surveys: a survey of `--responses` answers through cleaning, weighting, analysis and
   publication, and the analysis page's server time.

`--steps pages` (any list without `setup`) reuses the database a previous run left;
`--steps surveys` needs none (it migrates an empty one and brings its own unit); nor does
`--steps cooperation` (6. a cost-sharing page of 15 municipalities, every method side by side),
nor `--steps siting` (7. a ~2,000 × 2,000-cell suitability analysis with 10 layers, bench/siting.py),
nor `--steps social` (8. 2SFCA/E2SFCA of 15,000 settlements to 200 service points and the
needs table of a 30-municipality district).

Results go to bench/RESULTS.md (and bench/results.json), beside the targets of issue 2.
"""

import argparse
import http.client
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the results (RESULTS.md, results.json) and the data (generated files, the SQLite
# database) go: the checkout's bench/ unless MUNICIPIUM_BENCH_OUT names another folder (the
# suite's run of every step at a toy scale, tests/test_bench_runs.py, writes to its own).
OUT = Path(os.environ.get("MUNICIPIUM_BENCH_OUT") or ROOT / "bench")
DATA = OUT / "data"
TARGETS = {
    "import_rows_per_s": ("≥ 100,000 observations/s", lambda v: v >= 100_000),
    "import_ratio_to_polars": ("≤ 20×", lambda v: v <= 20),
    "recompute_s": ("≤ 60 s", lambda v: v <= 60),
    "recompute_peak_gib": ("≤ 4 GiB", lambda v: v <= 4),
    "recompute_bare_ratio": ("≤ 5×", lambda v: v <= 5),
    "recompute_unchanged_s": ("≤ 10 s", lambda v: v <= 10),
    "save_to_derived_s": ("≤ 1 s", lambda v: v <= 1),  # issue 18: median, with a real worker
    "profile_cold_p95_ms": ("≤ 150 ms", lambda v: v <= 150),
    "profile_warm_p95_ms": ("≤ 150 ms", lambda v: v <= 150),
    "indicator_cold_p95_ms": ("≤ 150 ms", lambda v: v <= 150),
    "indicator_warm_p95_ms": ("≤ 150 ms", lambda v: v <= 150),
    "indicator_page_mb": ("≤ 1.5 MB", lambda v: v <= 1.5),
    "indicator_page_gzip_mb": ("≤ 1.5 MB", lambda v: v <= 1.5),
    "coop_page_p95_ms": ("≤ 1,000 ms", lambda v: v <= 1000),
    "tariff_recompute_ms": ("≤ 200 ms", lambda v: v <= 200),
    "siting_total_s": ("≤ 10 s", lambda v: v <= 10),
    "siting_peak_gib": ("≤ 2 GiB", lambda v: v <= 2),
    "social_total_s": ("≤ 2 s", lambda v: v <= 2),
}


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


# -- inside one database ---------------------------------------------------------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def step_setup(args) -> dict:
    """Schema, catalogue (through the YAML loader), units and groups."""
    _django()
    import yaml
    from django.core.management import call_command

    from municipium.catalog.files import load_catalog
    from municipium.places.models import Group, Membership, Unit

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    variables = [f"v{i:03d}" for i in range(args.variables)]
    indicators = []
    for i in range(args.indicators):
        a, b, c = rng.sample(variables, 3)
        shape = i % 5
        formula = {
            0: f"100 * {a} / {b}",
            1: f"1000 * {a} / {b}",
            2: f"({a} - {b}) / {c}",
            3: f"100 * ({a} - lag({a})) / lag({a})",
            4: f"coalesce({a}, 0) / max({b}, 1)",
        }[shape]
        indicators.append(
            {
                "code": f"i{i:04d}",
                "service_area": "bench",
                "name": {"en": f"Indicator {i}"},
                "formula": formula,
                "unit": "%",
                "dimension": ["quantity", "quality", "availability", "cost_efficiency"][i % 4],
                "polarity": ["higher_is_better", "lower_is_better", "neutral"][i % 3],
                "decimals": 1,
            }
        )
    catalog = {
        "service_areas": [{"code": "bench", "name": {"en": "Benchmark"}}],
        "variables": [
            {"code": v, "service_area": "bench", "name": {"en": v}, "unit": "t", "min": 0} for v in variables
        ],
        "indicators": indicators,
    }
    path = DATA / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    started = time.perf_counter()
    report = load_catalog(path)
    catalog_s = time.perf_counter() - started
    assert not report.problems, report.problems[:5]

    # Each unit gets a 32-vertex boundary on a grid, about the size of a simplified real one,
    # so that the indicator page's map weighs what it would in a real installation.
    def boundary(u: int) -> dict:
        import math

        x, y = 14 + (u % 50) * 0.2, 45 + (u // 50) * 0.15
        ring = [
            [round(x + 0.09 * math.cos(-2 * math.pi * k / 32), 5), round(y + 0.07 * math.sin(-2 * math.pi * k / 32), 5)]
            for k in range(32)
        ]
        return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}

    Unit.objects.bulk_create(
        Unit(code=f"M{u:05d}", name={"en": f"Municipality {u}"}, boundary=boundary(u)) for u in range(args.units)
    )
    units = list(Unit.objects.order_by("code"))
    regions = [Group.objects.create(code=f"R{r:02d}", name={"en": f"Region {r}"}, kind="region") for r in range(25)]
    peers = [Group.objects.create(code=f"P{p}", name={"en": f"Peer group {p}"}, kind="peer") for p in range(5)]
    Membership.objects.bulk_create(
        [Membership(group=regions[i % 25], unit=u) for i, u in enumerate(units)]
        + [Membership(group=peers[i % 5], unit=u) for i, u in enumerate(units)]
    )
    return {"catalog_load_s": catalog_s, "catalog_indicators": args.indicators}


BARE_READ = (
    "import sys, time; import polars as pl; started = time.perf_counter(); "
    "pl.read_csv(sys.argv[1], separator=';'); print(time.perf_counter() - started)"
)


def step_import(args) -> dict:
    """All observations as CSV files of `--import-rows` rows (1M unless set) through the real
    importer, each read first by a bare `polars.read_csv` in the same process: the import's
    time over that pass is issue 18's ratio (target ≤ 20×). Peak memory is the step's own
    process; a run with a larger `--import-rows` (e.g. 5,000,000: one file of all the
    observations) shows whether it grows with the file."""
    # A file of many millions of rows is larger than the upload limit; streamed from disk it
    # takes the memory of one piece.
    os.environ.setdefault("MAX_IMPORT_BYTES", str(64 * 1024**3))
    _django()
    from municipium.observations import imports

    rng = random.Random(11)
    years = range(2025 - args.years + 1, 2026)
    per_file = max(1, args.import_rows // (args.units * args.years))
    files, timings, rows_total, bare_s, sizes = 0, [], 0, 0.0, []
    for first in range(0, args.variables, per_file):
        chunk = [f"v{i:03d}" for i in range(first, min(first + per_file, args.variables))]
        path = DATA / f"observations-{files:02d}.csv"
        with path.open("w", encoding="utf-8") as out:
            # As in a real installation: history published, the latest year still in draft.
            out.write("unit;variable;period;value;missing;status\n")
            for u in range(args.units):
                scale = 1 + (u % 97)
                for v in chunk:
                    for y in years:
                        status = "draft" if y == years[-1] else "published"
                        if rng.random() < 0.02:
                            out.write(f"M{u:05d};{v};{y};;not_collected;{status}\n")
                        else:
                            value = f"{rng.uniform(0.5, 2) * scale * 1000:.2f}".replace(".", ",")
                            out.write(f"M{u:05d};{v};{y};{value};;{status}\n")
        sizes.append(path.stat().st_size)
        # In a process of its own, so that the step's peak memory is the importer's.
        bare = subprocess.run([sys.executable, "-c", BARE_READ, str(path)], check=True, capture_output=True, text=True)
        bare_s += float(bare.stdout)
        started = time.perf_counter()
        report = imports.commit(path)
        seconds = time.perf_counter() - started
        assert not report.problems, report.problems[:5]
        rows_total += report.rows
        timings.append((report.rows, seconds))
        path.unlink()
        files += 1
    first_rows, first_s = timings[0]
    last_rows, last_s = timings[-1]
    import_s = sum(s for _, s in timings)
    return {
        "import_files": files,
        "observations": rows_total,
        "import_file_rows": first_rows,
        "import_file_mb": max(sizes) / 1024**2,
        "import_first_file_rows": first_rows,
        "import_first_file_s": first_s,
        "import_last_file_s": last_s,
        "import_rows_per_s": rows_total / import_s,
        "import_polars_read_s": bare_s,
        "import_ratio_to_polars": import_s / bare_s,
        "import_peak_gib": peak_gib(),
        "import_load_average": os.getloadavg()[0],
    }


def step_recompute(args) -> dict:
    _django()
    from django.db.models import Sum
    from django_tasks_db.models import DBTaskResult

    from municipium.benchmarks import engine
    from municipium.benchmarks.models import GroupStatistic, ValueSeries

    started = time.perf_counter()
    result = engine.recompute_all()
    seconds = time.perf_counter() - started
    # The imports queued incremental recomputes that the full one has made redundant; drop
    # them so the latency step measures a save on an idle queue, not the import's backlog.
    DBTaskResult.objects.all().delete()
    started = time.perf_counter()
    skipped = engine.recompute_all()
    again = time.perf_counter() - started
    # The same with the input fingerprints ignored: every indicator computed and every stored
    # row compared (what `recompute --force` does, and every no-op recompute before issue 18).
    # As long as a full recompute: skipped at the full scale unless asked for.
    forced = None
    if args.forced_noop:
        started = time.perf_counter()
        engine.recompute_all(force=True)
        forced = time.perf_counter() - started
    return {
        "recompute_s": seconds,
        "recompute_unchanged_s": again,
        "recompute_unchanged_skipped": skipped.skipped,
        "recompute_unchanged_forced_s": forced,
        "load_average": os.getloadavg()[0],
        "recompute_peak_gib": peak_gib(),
        "indicator_values": ValueSeries.objects.aggregate(n=Sum("count"))["n"] or 0,
        "value_series": ValueSeries.objects.count(),
        "group_statistics": GroupStatistic.objects.count(),
        "recompute_written": getattr(result, "written", None),
    }


def step_bare(args) -> dict:
    """The bare pass issue 18 measures the recompute against: the same figures (every
    indicator's values with change and trend, and every group's statistics, on all data and
    on published data) computed by Polars in memory from the observations, stored nowhere.
    Written plainly from the same formulas (lib/formulas) and statistics (lib/stats), without
    the engine's rules for breakdowns, missing codes and per-slice published rows, which the
    synthetic data do not exercise. Its own process, so its memory is its own."""
    _django()
    import polars as pl

    from municipium.catalog.models import Indicator, Variable
    from municipium.lib import frames, stats
    from municipium.lib.formulas import parse
    from municipium.observations.models import Observation, Period, Status
    from municipium.places.models import Membership

    started = time.perf_counter()
    table = Observation._meta.db_table
    obs = frames.read_sql(
        f"SELECT unit_id, variable_id, period_id, value, CASE WHEN status = %s THEN 1 ELSE 0 END FROM {table} "
        "WHERE breakdown = ''",
        [Status.PUBLISHED.value],
        schema={
            "unit_id": pl.Int64,
            "variable_id": pl.Int64,
            "period_id": pl.Int64,
            "value": pl.Float64,
            "published": pl.Int64,
        },
    )
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    codes = {pk: code for code, pk in Variable.objects.values_list("code", "id")}
    ordinal = dict(Period.objects.values_list("id", "ordinal"))
    members = pl.DataFrame(
        list(Membership.objects.values_list("group_id", "unit_id")),
        schema={"group_id": pl.Int64, "unit_id": pl.Int64},
        orient="row",
    )
    formulas = {pk: parse(text) for pk, text in Indicator.objects.values_list("id", "formula")}
    obs = obs.with_columns(
        pl.col("variable_id").replace_strict(codes, return_dtype=pl.String).alias("variable"),
        pl.col("period_id").replace_strict(ordinal, return_dtype=pl.Int64).alias("ordinal"),
    )
    values = statistics = 0
    for basis in ("all", "published"):
        source = obs if basis == "all" else obs.filter(pl.col("published") == 1)
        wide = source.pivot(on="variable", index=["unit_id", "ordinal"], values="value")
        units = wide.select("unit_id").unique()
        periods = wide.select("ordinal").unique()
        wide = units.join(periods, how="cross").join(wide, on=["unit_id", "ordinal"], how="left")
        wide = wide.sort("unit_id", "ordinal")
        ids = sorted(formulas)
        for first in range(0, len(ids), 100):
            batch = ids[first : first + 100]
            exprs = [formulas[i].to_polars(lambda ref: ref.name, over="unit_id").alias(f"i{i}") for i in batch]
            computed = wide.select("unit_id", "ordinal", *exprs)
            derived = []
            for i in batch:
                change, change_pct = stats.change_exprs(f"i{i}", "unit_id")
                derived += [change.alias(f"c{i}"), change_pct.alias(f"p{i}")]
            # The trends as the engine computes them (`stats.trend_array`, numpy on the grid
            # sorted by unit and period), NaN read as null.
            units = computed["unit_id"].to_numpy()
            derived += [
                pl.Series(f"t{i}", stats.trend_array(computed[f"i{i}"].to_numpy(), units), nan_to_null=True)
                for i in batch
            ]
            computed = computed.with_columns(derived)
            long = computed.unpivot(
                on=[f"i{i}" for i in batch], index=["unit_id", "ordinal"], variable_name="indicator"
            ).filter(pl.col("value").is_not_null())
            values += long.height
            grouped = (
                members.join(long, on="unit_id")
                .group_by("indicator", "group_id", "ordinal")
                .agg(*stats.summary_exprs("value", None, None))
            )
            statistics += grouped.height
    return {
        "bare_read_s": read_s,
        "bare_compute_s": time.perf_counter() - started,
        "bare_values": values,
        "bare_statistics": statistics,
        "bare_peak_gib": peak_gib(),
    }


def step_parts(args) -> dict:
    """A full recompute from empty tables split into 2 parts that 2 real workers share
    (`municipium recompute --parts 2`), against the one-process full recompute of the
    recompute step. Ends with the tables as a full recompute leaves them."""
    _django()
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from municipium.benchmarks import tasks
    from municipium.benchmarks.models import GroupStatistic, InputFingerprint, RankSlice, ValueSeries

    for model in (ValueSeries, GroupStatistic, InputFingerprint, RankSlice):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    DBTaskResult.objects.all().delete()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "municipium.cli", "worker"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        started = time.perf_counter()
        report = tasks.recompute_in_parts(2, wait=True, poll=0.2)
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    return {
        "recompute_parts_s": seconds,
        "recompute_parts_indicators": report["indicators"],
        "recompute_parts_load_average": os.getloadavg()[0],
    }


def step_latency(args) -> dict:
    """Save one observation; a real worker picks the task up; wait until the value shows.

    A first save into the latest year, not counted, lets the worker start. Each save is also
    classed by what it asks of the engine: the first draft in slices whose
    data were all published (no unpublished observation of the variables its indicators
    read within a window of its year: the bench's saves into early years of a fresh
    database) or a save where drafts are already near (issue 18: the first kind used to
    store a published row for every unit of those slices)."""
    _django()
    from django.db import close_old_connections

    from municipium.benchmarks import engine
    from municipium.benchmarks import read as reading
    from municipium.catalog.models import Indicator, Variable
    from municipium.observations.models import ImportBatch, Observation, Status
    from municipium.observations.services import Row, write_observations

    worker = subprocess.Popen(
        [sys.executable, "-m", "municipium.cli", "worker"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        indicator = Indicator.objects.get(code="i0000")  # 100 * a / b
        a_code = indicator.formula.split("*")[1].split("/")[0].strip()
        variable = Variable.objects.get(code=a_code)
        ctx = engine.Context()
        specs = [ctx.spec(i) for i in engine.affected_indicators([variable.pk], context=ctx)]
        read = sorted({v for spec in specs for v in spec.variable_ids})
        reach = max(spec.window for spec in specs)

        def first_draft(observation) -> bool:
            ordinal = observation.period.ordinal
            return (
                not Observation.objects.filter(
                    variable_id__in=read,
                    period__kind=observation.period.kind,
                    period__ordinal__range=(ordinal - reach, ordinal + reach),
                )
                .exclude(status=Status.PUBLISHED)
                .exists()
            )

        def save(observation, new_value: float) -> float:
            """Save a draft through the write path; seconds until the worker's value shows."""
            started = time.perf_counter()
            write_observations(
                [Row(observation.unit_id, variable.pk, observation.period_id, value=new_value, status="draft")],
                batch=ImportBatch(file_name="bench form", sha256="", format="form", via="form"),
            )
            while True:
                close_old_connections()
                found = reading.value(indicator, observation.unit_id, observation.period, public=False)
                row = None if found is None else found.numerator
                if row is not None and abs(row - 100 * new_value) < 1e-6 * max(1, abs(row)):
                    return time.perf_counter() - started
                if time.perf_counter() - started > 120:
                    raise TimeoutError("the derived value did not follow within 120 s")
                time.sleep(0.02)

        # Not counted: a save into the latest year (a draft year already) while the worker
        # starts, so that the five below measure a running worker, not its start.
        latest = Observation.objects.filter(variable=variable, missing="").order_by("-period__ordinal", "-id").first()
        warm_up = save(latest, latest.value + 500)
        samples, firsts = [], []
        for attempt in range(5):
            observation = Observation.objects.filter(variable=variable, missing="").order_by("id")[attempt * 7]
            firsts.append(first_draft(observation))
            samples.append(save(observation, observation.value + 1000 + attempt))
        first_samples = sorted(s for s, first in zip(samples, firsts, strict=True) if first)
        other_samples = sorted(s for s, first in zip(samples, firsts, strict=True) if not first)
        samples.sort()
        return {
            "save_to_derived_s": samples[len(samples) // 2],
            "save_to_derived_max_s": samples[-1],
            "save_to_derived_first_draft_n": len(first_samples),
            "save_to_derived_first_draft_s": first_samples[len(first_samples) // 2] if first_samples else None,
            "save_to_derived_other_s": other_samples[len(other_samples) // 2] if other_samples else None,
            "save_to_derived_samples_s": [round(s, 3) for s in samples],
            "save_to_derived_warm_up_s": warm_up,
            "save_to_derived_load_average": os.getloadavg()[0],
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _p95(samples: list[float]) -> float:
    from municipium.lib.stats import quantile

    return quantile(samples, 0.95)


def _client(user=None):
    """A test client whose handler has loaded its middleware, as a served worker's has when
    `municipium.wsgi` is imported (Django's WSGIHandler loads it in its constructor). The
    test client's handler loads it on its first request, which then timed WhiteNoise's scan
    of the static files (some 30 ms of a first unit profile's 0.2 s) as if a visitor waited
    for it. Logged in as `user` when one is given."""
    from django.test import Client

    client = Client()
    client.handler.load_middleware()
    if user is not None:
        client.force_login(user)
    return client


def step_pages(args) -> dict:
    """Server time of the unit profile and the indicator page, cold (first request for that
    page in a freshly started worker: a fresh process that has done what a web worker does
    at start, `web.warmup.warm_up`, and nothing else) and warm (the same pages again), and the
    indicator page's weight
    with everything it loads (assets and map data), raw and gzip-compressed."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    _django()
    import gzip
    import re

    from municipium.catalog.models import Indicator, IndicatorSet, SetIndicator
    from municipium.places.models import Group
    from municipium.web.warmup import warm_up

    # What `municipium.wsgi` does in each worker before it accepts a connection (before it,
    # a fresh process's first request took 1.9-3 s of imports and lazy loading, issue 18).
    warm_up_s = warm_up()
    client = _client()  # anonymous: the public view (published figures; the latest year is a draft)
    group = "P0"  # a peer group of units/5 members: the biggest comparison on the page
    # The issue's target: the peer group follows 100 indicators in its indicator set, so its
    # members' profiles show those 100. Units of the other peer groups (and their regions)
    # have no set: their profile opens on the few most reported indicators (issue 18).
    followed, _ = IndicatorSet.objects.get_or_create(
        code="bench_all", defaults={"group": Group.objects.get(code=group), "name": {"en": "A hundred indicators"}}
    )
    if not followed.entries.exists():
        # The issue's 100 indicators in the unit's sets, whatever the catalogue's size: at
        # the full scale (1,000 indicators) the profile shows a tenth of them.
        SetIndicator.objects.bulk_create(
            SetIndicator(indicator_set=followed, indicator=indicator, order=n)
            for n, indicator in enumerate(Indicator.objects.order_by("code")[:100])
        )
    step = max(5, args.units // 20 // 5 * 5)  # members of P0 (unit number divisible by 5)
    units = [f"M{u:05d}" for u in range(0, args.units, step)][:20]
    without_set = [f"M{u + 1:05d}" for u in range(0, args.units, step)][:20]  # members of P1
    indicators = list(Indicator.objects.order_by("code").values_list("code", flat=True)[:20])

    def timed(url: str, reader=None) -> float:
        started = time.perf_counter()
        response = (reader or client).get(url)
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return seconds

    profile_urls = [f"/en/units/{u}/?group={group}" for u in units]
    indicator_urls = [f"/en/indicators/{code}/?group={group}" for code in indicators]
    unset_urls = [f"/en/units/{u}/" for u in without_set]
    result = {"server_warm_up_s": warm_up_s}
    for name, urls in (("profile", profile_urls), ("indicator", indicator_urls), ("profile_unset", unset_urls)):
        cold = [timed(url) for url in urls]
        warm = [timed(url) for _ in range(3) for url in urls]
        result[f"{name}_cold_p95_ms"] = 1000 * _p95(cold)
        result[f"{name}_warm_p95_ms"] = 1000 * _p95(warm)

    html = client.get(indicator_urls[0]).content
    assets = set(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html))
    assets |= {m for m in re.findall(rb'data-map="([^"]+)"', html)}
    raw, packed = len(html), len(gzip.compress(html))
    for url in sorted(assets):
        response = client.get(url.decode().replace("&amp;", "&"))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        raw += len(body)
        packed += len(gzip.compress(body))
    result["indicator_page_mb"] = raw / 1e6
    result["indicator_page_gzip_mb"] = packed / 1e6
    result["page_group_members"] = args.units // 5
    result |= _coordinator_pages(group, timed)
    return result


def _coordinator_pages(group: str, timed) -> dict:
    """The pages of the people who run the exchange, behind the imports' millions of
    revisions: the coordinator's audit trail and status board (the group's members), the
    officer's import page with its history. Server time, the first request and the median
    of three after it (issue 18: the trail took 11 s behind five imports of a million)."""
    from django.contrib.auth import get_user_model

    from municipium.accounts.models import Role
    from municipium.observations.models import Period
    from municipium.places.models import Group, Unit

    users = get_user_model()
    coordinator, made = users.objects.get_or_create(username="bench_coordinator")
    if made:
        Role.objects.create(user=coordinator, kind=Role.Kind.COORDINATOR, group=Group.objects.get(code=group))
    officer, made = users.objects.get_or_create(username="bench_officer")
    if made:
        Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=Unit.objects.order_by("code").first())
    period = Period.objects.filter(kind="year").order_by("-ordinal").first().code
    result = {}
    for user, name, url in (
        (coordinator, "audit_trail", "/en/audit/"),
        (coordinator, "status_board", f"/en/groups/{group}/status/{period}/"),
        (officer, "import_page", "/en/import/"),
    ):
        client = _client(user)
        result[f"{name}_first_ms"] = 1000 * timed(url, client)
        result[f"{name}_ms"] = 1000 * statistics.median(timed(url, client) for _ in range(3))
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _download(fmt: str, query: str = "") -> dict:
    """One open-data download through the web server `municipium serve` starts (the same
    gunicorn command, one worker, a fresh process for each download so that its peak memory
    is this download's): seconds, bytes, HTTP status and the worker's peak resident memory."""
    import urllib.error
    import urllib.request

    from municipium.cli import gunicorn_command

    port = _free_port()
    server = subprocess.Popen(
        gunicorn_command(sys.executable, "127.0.0.1", port, 1),
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.perf_counter() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/service-areas", timeout=5).read()
                break
            except OSError:
                if time.perf_counter() > deadline:
                    raise
                time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        worker = int(children[0])

        def resident(field: str) -> float:
            status = Path(f"/proc/{worker}/status").read_text() if Path(f"/proc/{worker}").exists() else ""
            return next((int(line.split()[1]) for line in status.splitlines() if line.startswith(field)), 0) / 1024**2

        # The worker's memory once it has served a small request: Django and the libraries.
        idle = resident("VmRSS")
        started = time.perf_counter()
        size, status = 0, 200
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/data/indicators.{fmt}{query}") as response:
                while piece := response.read(1 << 20):
                    size += len(piece)
        except urllib.error.HTTPError as error:
            status, size = error.code, len(error.read())
        except (urllib.error.URLError, ConnectionError, http.client.IncompleteRead) as error:
            status = f"cut off after {size:,} bytes ({type(error).__name__})"
        seconds = time.perf_counter() - started
        return {"s": seconds, "mb": size / 1e6, "status": status, "peak_gib": resident("VmHWM"), "idle_gib": idle}
    finally:
        server.terminate()
        server.wait(timeout=30)


def step_download(args) -> dict:
    """The whole published data set downloaded through the web server `municipium serve`
    starts (issue 18): every indicator value, anonymously (published figures), as CSV,
    SDMX-CSV and JSON-stat; Excel for one year (its row limit refuses the whole set, which
    is measured too). Time, size and the web worker's peak memory for each."""
    _django()
    from django.conf import settings
    from django.db.models import Sum

    from municipium.benchmarks.models import ValueSeries

    # Every stored value, both bases (a hidden published twin lives in its "all" series and
    # is counted there, `benchmarks.series`).
    held = ValueSeries.objects.aggregate(n=Sum("count"))["n"] or 0
    result = {"download_rows": held}
    last = "2024"  # the latest year is still a draft in the bench data: 2024 is published
    for name, fmt, query in (
        ("csv", "csv", ""),
        ("sdmx", "sdmx.csv", ""),
        ("jsonstat", "jsonstat", ""),
        ("xlsx_year", "xlsx", f"?period_from={last}&period_to={last}"),
        ("xlsx_all", "xlsx", ""),
    ):
        measured = _download(fmt, query)
        print(name, measured, file=sys.stderr, flush=True)
        for key, value in measured.items():
            result[f"download_{name}_{key}"] = value
    result["download_xlsx_limit"] = settings.OPENDATA_XLSX_MAX_ROWS
    return result


def step_surveys(args) -> dict:
    """A large user-satisfaction survey through cleaning, weighting, analysis and publication:
    `--responses` answers (default 20,000: a big city's survey is 1,000–3,000) to the model
    questionnaire with every service, generated by the demo's respondent generator, then the
    time of each step as an officer runs it and the analysis page's server time. Needs only a
    migrated database; it brings its own unit."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    _django()
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from municipium.accounts.models import Role
    from municipium.demo import surveys as demo
    from municipium.places.models import Unit
    from municipium.surveys import answers, cleaning, publish, starter, weighting
    from municipium.surveys.models import Response, Survey

    call_command("migrate", verbosity=0)
    unit, _made = Unit.objects.get_or_create(code="BENCH-SURVEY", defaults={"name": {"en": "Survey bench"}})
    Survey.objects.filter(unit=unit).delete()
    user, _made = get_user_model().objects.get_or_create(username="bench-surveys")
    Role.objects.get_or_create(user=user, kind=Role.Kind.ADMIN)
    survey = starter.create_survey(unit, 2025, code="bench", actor=user)
    spec = demo.SURVEYS[0]
    profile = demo._profile(spec)
    rng = random.Random(7)
    questionnaire = answers.Questionnaire.of(survey)
    rows = []
    for _n in range(args.responses):
        raw, person = demo._raw_answers(rng, profile, "urban" if rng.random() < spec.urban else "rural", 0.0)
        checked = answers.check(questionnaire, raw, language="en")
        rows.append(
            Response(
                survey=survey,
                mode=Response.Mode.WEB,
                language="en",
                stratum=raw["area_type"],
                inclusion_probability=0.02 if raw["area_type"] == "urban" else 0.04,
                answers=checked.answers,
                submitted_on=dt.date(2025, 4, 1) + dt.timedelta(days=person.day),
                duration_seconds=person.duration_seconds,
            )
        )
    Response.objects.bulk_create(rows, batch_size=2000)
    adults = 10 * args.responses
    margins = {
        "age_group": demo._split(adults, demo.AGE_SHARES),
        "sex": demo._split(adults, demo.SEX_SHARES),
        "area_type": demo._split(adults, {"urban": spec.urban, "rural": 1 - spec.urban}),
    }

    def timed(function) -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    result = {"survey_responses": args.responses}
    result["survey_flags_s"] = timed(lambda: cleaning.compute_flags(survey, actor=user))
    weighting.save_settings(survey, margins, dict(weighting.DEFAULT_TRIM), actor=user)
    result["survey_weighting_s"] = timed(lambda: weighting.compute(survey, actor=user))
    from municipium.surveys import analysis

    result["survey_analysis_s"] = timed(lambda: analysis.analyse(survey))
    from municipium.web.warmup import warm_up

    warm_up()  # the first request is a served worker's, which has warmed up at start
    client = _client(user)
    url = f"/en/surveys/{survey.pk}/analysis/"
    pages = [timed(lambda: client.get(url)) for _n in range(5)]
    result["survey_page_first_ms"] = 1000 * pages[0]
    result["survey_page_p95_ms"] = 1000 * _p95(pages[1:])
    result["survey_publish_s"] = timed(lambda: publish.publish(survey, actor=user))
    result["survey_peak_gib"] = peak_gib()
    return result


def step_cooperation(args) -> dict:
    """The cost-sharing page of a facility shared by 15 municipalities (the largest game split
    exactly): a cost function with economies of scale, typed drivers, two financing
    scenarios; every method side by side (Shapley over 32,767 coalitions, SCRB, the nucleolus
    as a sequence of LPs, the least core and a core check each). Needs only a migrated
    database; it brings its own units."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    _django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from municipium.accounts.models import Role
    from municipium.cooperation import services, sharing
    from municipium.cooperation.models import Facility, Participant, Scenario
    from municipium.places.models import Group, Membership, Unit

    call_command("migrate", verbosity=0)
    rng = random.Random(15)
    Facility.objects.filter(code="bench-landfill").delete()
    units = [
        Unit.objects.get_or_create(code=f"BENCH-COOP-{i:02d}", defaults={"name": {"en": f"Member {i}"}})[0]
        for i in range(15)
    ]
    group, _made = Group.objects.get_or_create(
        code="bench-coop", defaults={"name": {"en": "Bench cooperation"}, "kind": Group.Kind.COOPERATION}
    )
    for unit in units:
        Membership.objects.get_or_create(group=group, unit=unit)
    user, _made = get_user_model().objects.get_or_create(username="bench-cooperation")
    Role.objects.get_or_create(user=user, kind=Role.Kind.ADMIN)
    facility = services.save_facility(
        user,
        Facility(
            code="bench-landfill",
            name="Regional landfill (bench)",
            kind=Facility.Kind.LANDFILL,
            group=group,
            year=2025,
            capital_cost=25_000_000,
            interest_rate=0.04,
            lifetime=25,
            fixed_opex=900_000,
            variable_opex=1_400_000,
            fixed_driver="population",
            variable_driver="tonnes",
            scale_driver="tonnes",
            scale_fixed=300_000,
            scale_unit=450.0,
            scale_exponent=0.7,
        ),
    )
    for unit in units:
        people = rng.randint(4_000, 180_000)
        services.save_participant(
            user,
            Participant(facility=facility, unit=unit, drivers={"population": people, "tonnes": people * 0.38}),
        )
    services.save_scenario(user, Scenario(facility=facility, name="Grant 60 %", capital_cost=10_000_000))
    services.save_scenario(user, Scenario(facility=facility, name="Loan 7 %", interest_rate=0.07))

    def timed(function) -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    result = {"coop_participants": len(units)}
    result["coop_split_s"] = timed(lambda: sharing.compare(facility))
    # The first request is a served worker's, which has warmed up at start (`web/warmup.py`,
    # as the pages step does): without it, it timed importing every view module (WeasyPrint,
    # the GIS libraries: about 5 of its 7 s), which no visitor of a served worker waits for.
    from municipium.web.warmup import warm_up

    result["coop_warm_up_s"] = warm_up()
    client = _client(user)
    url = f"/en/cooperation/facilities/{facility.code}/"
    pages = [timed(lambda: client.get(url)) for _n in range(5)]
    result["coop_page_first_ms"] = 1000 * pages[0]
    result["coop_page_p95_ms"] = 1000 * _p95(pages[1:])
    result["coop_package_pdf_s"] = timed(lambda: client.get(url + "package/?format=pdf"))
    result["coop_peak_gib"] = peak_gib()
    return result


def step_siting(args) -> dict:
    """7. A siting analysis of ~2,000 × 2,000 cells with 10 layers (bench/siting.py): pure
    library code, no database, so both columns measure the same thing."""
    sys.path.insert(0, str(ROOT / "bench"))
    import siting

    return siting.main()


def step_social(args) -> dict:
    """Social-service planning at district scale (issue 15): 30 municipalities with 500
    settlements each (15,000) and 200 service points of one type; the 2SFCA / E2SFCA
    accessibility of every settlement and the needs-against-capacity table of the round. Needs
    only a migrated database; it brings its own units, population and supply (bulk-inserted:
    the setup is not what is measured)."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    _django()
    import datetime as dt

    from django.core.management import call_command

    from municipium.catalog.models import Breakdown, Category, ServiceArea, Variable
    from municipium.observations.models import Observation, Period
    from municipium.places.models import Group, Membership, Unit
    from municipium.socialplanning import planning, services
    from municipium.socialplanning.models import Norm, NormTable, Provider, Round, Service, ServiceType, Settlement

    call_command("migrate", verbosity=0)
    rng = random.Random(15)
    Round.objects.filter(code="bench-social").delete()
    area, _made = ServiceArea.objects.get_or_create(code="population", defaults={"name": {"en": "Population"}})
    bands, _made = Breakdown.objects.get_or_create(code="age_band", defaults={"name": {"en": "Age band"}})
    for order, code in enumerate(["0-14", "15-64", "65-79", "80+"]):
        Category.objects.get_or_create(breakdown=bands, code=code, defaults={"name": {"en": code}, "order": order})
    ages, _made = Variable.objects.get_or_create(
        code="population_by_age",
        defaults={"service_area": area, "name": {"en": "Population by age"}, "breakdown": bands},
    )
    total, _made = Variable.objects.get_or_create(
        code="population", defaults={"service_area": area, "name": {"en": "Population"}}
    )
    services.load_starter(None)
    day_care = ServiceType.objects.get(code="day-care-older")
    table, _made = NormTable.objects.get_or_create(
        code="bench-norms",
        version=1,
        defaults={
            "title": "Bench norms (example)",
            "jurisdiction": "example",
            "source": "bench",
            "effective": dt.date(2020, 1, 1),
            "status": "example",
        },
    )
    if not table.norms.exists():
        for code, categories, places in (
            ("day-care-older", ["65-79", "80+"], 5),
            ("residential-older", ["65-79", "80+"], 42),
            ("home-care", ["80+"], 40),
            ("day-care-disability", ["15-64"], 1),
        ):
            Norm.objects.create(
                table=table,
                service_type=ServiceType.objects.get(code=code),
                variable=ages,
                categories=categories,
                places=places,
            )
    group, _made = Group.objects.get_or_create(
        code="bench-district", defaults={"name": {"en": "Bench district"}, "kind": Group.Kind.REGION}
    )
    units = []
    for i in range(30):
        unit, made = Unit.objects.get_or_create(
            code=f"BENCH-SOC-{i:02d}", defaults={"name": {"en": f"Municipality {i}"}}
        )
        Membership.objects.get_or_create(group=group, unit=unit)
        units.append(unit)
    periods = [Period.objects.for_code(str(year)) for year in (2019, 2024)]
    if not Observation.objects.filter(unit=units[0], variable=ages).exists():
        rows = []
        for unit in units:
            people = rng.randint(3_000, 120_000)
            for period in periods:
                shares = {"0-14": 0.13, "15-64": 0.63, "65-79": 0.17, "80+": 0.07}
                for band, share in shares.items():
                    rows.append(
                        Observation(
                            unit=unit,
                            variable=ages,
                            period=period,
                            breakdown=band,
                            value=people * share,
                            status="published",
                        )
                    )
                rows.append(Observation(unit=unit, variable=total, period=period, value=people, status="published"))
                people *= rng.uniform(0.92, 1.03)
        Observation.objects.bulk_create(rows)
    if not Settlement.objects.filter(unit__in=units).exists():
        settlements = []
        for n, unit in enumerate(units):
            lon0, lat0 = 22.5 + (n % 6) * 0.45, 42.0 + (n // 6) * 0.3
            for k in range(500):
                settlements.append(
                    Settlement(
                        unit=unit,
                        code=f"{unit.code}-{k:03d}",
                        name=f"Settlement {k}",
                        lon=lon0 + rng.uniform(0, 0.45),
                        lat=lat0 + rng.uniform(0, 0.3),
                        population=rng.randint(20, 4_000),
                    )
                )
        Settlement.objects.bulk_create(settlements, batch_size=2_000)
        points = []
        for k in range(200):
            unit = units[k % 30]
            provider, _made = Provider.objects.get_or_create(
                unit=unit, name="Bench provider", defaults={"kind": "public"}
            )
            points.append(
                Service(
                    provider=provider,
                    service_type=day_care,
                    name=f"Day centre {k}",
                    year=2024,
                    lon=22.5 + rng.uniform(0, 2.7),
                    lat=42.0 + rng.uniform(0, 1.5),
                    capacity=rng.randint(10, 60),
                    users=rng.randint(5, 60),
                    waiting=rng.randint(0, 10),
                    funding="state",
                )
            )
        Service.objects.bulk_create(points)
    round_ = Round.objects.create(
        code="bench-social",
        title="Bench round",
        group=group,
        year=2024,
        horizon=2027,
        norms=table,
        opens=dt.date(2025, 2, 1),
        agreement_deadline=dt.date(2025, 3, 1),
        agency_deadline=dt.date(2025, 3, 31),
    )

    def timed(function) -> tuple[float, object]:
        started = time.perf_counter()
        value = function()
        return time.perf_counter() - started, value

    result = {"social_settlements": Settlement.objects.filter(unit__in=units).count(), "social_points": 200}
    runs = {}
    for method in ("none", "step", "gaussian"):
        seconds = [timed(lambda m=method: planning.accessibility(round_, day_care, m, 30.0)) for _n in range(3)]
        runs[method] = min(s for s, _v in seconds)
        assert len(seconds[0][1].access) == result["social_settlements"]
    table_s = [timed(lambda: planning.needs_table(round_))[0] for _n in range(3)]
    result["social_2sfca_s"] = runs["none"]
    result["social_e2sfca_s"] = max(runs["step"], runs["gaussian"])
    result["social_needs_s"] = min(table_s)
    result["social_total_s"] = result["social_e2sfca_s"] + result["social_needs_s"]
    result["social_peak_gib"] = peak_gib()
    return result


def step_tariffs(args) -> dict:
    """Issue 16's recompute, through the app: a stored study with 5 customer classes and 20
    income groups and a 10-year scenario solved for full cost recovery under a cap
    (`tariffs.services.figures` + `scenario_figures`: the base year's ratios and class split,
    the phase-in path with scipy's brentq on the classes' model, affordability), read from
    the database each time as a page does; and the scenario page itself through the test
    client. Median and slowest of 20. Needs only a migrated database; brings its own unit."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    _django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from municipium.accounts.models import Role
    from municipium.places.models import Unit
    from municipium.tariffs import services
    from municipium.tariffs.models import CustomerClass, Scenario, Study

    call_command("migrate", verbosity=0)
    rng = random.Random(16)
    Study.objects.filter(code="bench-water").delete()
    unit, _made = Unit.objects.get_or_create(code="BENCH-TARIFF", defaults={"name": {"en": "Bench utility"}})
    user, _made = get_user_model().objects.get_or_create(username="bench-tariffs")
    Role.objects.get_or_create(user=user, kind=Role.Kind.ADMIN)
    study = services.save_study(
        user,
        Study(
            code="bench-water",
            name="Bench water tariff",
            unit=unit,
            service="water",
            currency="EUR",
            base_year=2026,
            operating={"staff": 4e6, "energy": 2e6, "maintenance": 1.5e6, "administration": 0.8e6},
            investment=30e6,
            rate=0.04,
            lifetime=30,
            collection=0.9,
            fixed=24,
            blocks=[[72, 0.9], [180, 1.4], [None, 2.1]],
            ref_m3=120,
            incomes=[{"label": f"ventile {i + 1}", "households": 5000, "income": 6000 + 1800 * i} for i in range(20)],
        ),
    )
    for name, share in zip(
        ("households", "business", "institutions", "industry", "public"), (0.5, 0.2, 0.1, 0.15, 0.05)
    ):
        services.save_class(
            user,
            CustomerClass(
                study=study,
                name=name,
                customers=rng.uniform(1e3, 1e5),
                demand=rng.uniform(1e5, 1e6),
                price=rng.uniform(0.8, 2.5),
                fixed_charge=12,
                fixed_share=share,
                elasticity=-0.2,
                growth=0.01,
            ),
        )
    scenario = services.save_scenario(
        user,
        Scenario(
            study=study, name="Phase-in", years=10, inflation=0.03, collection=0.92, target=1.0, by_year=2031, cap=0.3
        ),
    )

    def once() -> None:
        fresh = Study.objects.get(pk=study.pk)
        base = services.figures(fresh)
        result = services.scenario_figures(Scenario.objects.select_related("study").get(pk=scenario.pk), base)
        assert result.path is not None and result.affordability is not None

    samples = []
    for _n in range(20):
        started = time.perf_counter()
        once()
        samples.append(time.perf_counter() - started)
    samples.sort()
    client = _client(user)
    url = f"/en/tariffs/{study.code}/scenarios/{scenario.pk}/"
    pages = []
    for _n in range(20):
        started = time.perf_counter()
        response = client.get(url)
        pages.append(time.perf_counter() - started)
        assert response.status_code == 200
    pages.sort()
    return {
        "tariff_recompute_ms": 1000 * samples[len(samples) // 2],
        "tariff_recompute_max_ms": 1000 * samples[-1],
        "tariff_page_ms": 1000 * pages[len(pages) // 2],
    }


# The steps that stand for a command or the task worker (bulk work, `lib/allocator`); the
# bare pass is set up as they are, so that the ratio compares like with like.
BULK_STEPS = ("setup", "import", "recompute", "bare", "parts")

STEPS = {
    "setup": step_setup,
    "import": step_import,
    "recompute": step_recompute,
    "bare": step_bare,
    "parts": step_parts,
    "latency": step_latency,
    "pages": step_pages,
    "download": step_download,
    "surveys": step_surveys,
    "cooperation": step_cooperation,
    "siting": step_siting,
    "social": step_social,
    "tariffs": step_tariffs,
}


# -- orchestration ---------------------------------------------------------------------------


# One PostgreSQL database per checkout (its folder's name in it), so that two checkouts on one
# server (worktrees, a CI clone beside a developer's) never drop each other's benchmark.
BENCH_DB = "municipium_bench_" + "".join(c if c.isalnum() else "_" for c in ROOT.name.lower())


def fresh_database(kind: str, pg_admin_url: str) -> str:
    if kind == "sqlite":
        path = DATA / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return pg_admin_url.rsplit("/", 1)[0] + "/" + BENCH_DB


def existing_database(kind: str, pg_admin_url: str) -> str:
    """The database a full run left (created empty when there is none: the surveys step needs
    nothing else)."""
    if kind == "sqlite":
        return f"sqlite:///{DATA / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return pg_admin_url.rsplit("/", 1)[0] + "/" + BENCH_DB


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores ({cpu or platform.processor()}), {memory:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def run_step(step: str, url: str, args) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MUNICIPIUM_TASKS"}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT))
    command = [
        sys.executable,
        __file__,
        "--step",
        step,
        "--units",
        str(args.units),
        "--indicators",
        str(args.indicators),
        "--years",
        str(args.years),
        "--variables",
        str(args.variables),
        "--responses",
        str(args.responses),
        *(["--forced-noop"] if args.forced_noop else []),
        "--import-rows",
        str(args.import_rows),
    ]
    print(f"  {step}…", flush=True)
    out = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_results(results: dict, args) -> None:
    # The data the figures were measured on: the scale of the run that built the database
    # (a partial run, e.g. `--steps cooperation`, keeps it), else this run's arguments.
    scale = next((r["data_scale"] for r in results.values() if "data_scale" in r), None)
    if scale:
        args = argparse.Namespace(**{**vars(args), **scale})
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/run.py`) on {time.strftime('%Y-%m-%d %H:%M')}"
        + (
            "."
            if "setup" in args.steps.split(",")
            else f", steps {args.steps}; the other figures are those of the last full run, on the data below."
        ),
        "",
        f"Machine: {machine()}. PostgreSQL with its default configuration (shared_buffers 128 MB).",
        "",
        f"Data: {args.units:,} units × {args.indicators:,} indicators over {args.variables} variables × {args.years} years "
        f"({args.units * args.variables * args.years:,} observations; "
        f"{args.units * args.indicators * args.years:,} indicator values); 25 regions and 5 peer groups.",
        "",
        "Pages: an anonymous reader (published figures) through Django's test client in one process, "
        "20 units' profiles and 20 indicators' pages, each compared within a peer group of "
        f"{args.units // 5:,} members; the profile shows {min(100, args.indicators)} indicators (the peer group's "
        "indicator set, the first 100 by code; the pages step adds it to a database built before it did). Profiles without a set: 20 "
        "members of another peer group, which opens on the few most reported indicators. Cold = the first "
        "request for that page in a freshly started worker (a fresh process after the start-up warm-up "
        "every web worker does, `web/warmup.py`), warm = the same pages three times more. "
        "Page weight: the indicator page's HTML plus every asset and the map data it loads.",
        "",
        "| measure | target | " + " | ".join(results) + " |",
        "|---|---|" + "---|" * len(results),
    ]
    rows = [
        ("import throughput, observations/s", "import_rows_per_s", "{:,.0f}"),
        ("import time ÷ a bare `polars.read_csv` of the same files", "import_ratio_to_polars", "{:.1f}"),
        ("full recompute, s", "recompute_s", "{:.1f}"),
        ("full recompute, peak memory GiB", "recompute_peak_gib", "{:.2f}"),
        (
            "full recompute when nothing changed (skips indicators whose inputs did not change), s",
            "recompute_unchanged_s",
            "{:.1f}",
        ),
        ("  indicators it skipped", "recompute_unchanged_skipped", "{:,}"),
        (
            "full recompute when nothing changed, forced (checks every stored row), s",
            "recompute_unchanged_forced_s",
            "{:.1f}",
        ),
        ("1-minute load average at the end of the recompute step (2 cores, shared)", "load_average", "{:.1f}"),
        ("bare Polars pass: the observations read, s", "bare_read_s", "{:.1f}"),
        ("bare Polars pass: the same figures computed in memory, s", "bare_compute_s", "{:.1f}"),
        ("bare Polars pass: peak memory GiB", "bare_peak_gib", "{:.2f}"),
        ("full recompute ÷ bare pass (read and compute)", "recompute_bare_ratio", "{:.1f}×"),
        ("full recompute in 2 parts shared by 2 workers, from empty tables, s", "recompute_parts_s", "{:.1f}"),
        ("  1-minute load average at its end", "recompute_parts_load_average", "{:.1f}"),
        ("save → derived figures updated, s (median of 5)", "save_to_derived_s", "{:.2f}"),
        ("save → derived, slowest of 5, s", "save_to_derived_max_s", "{:.2f}"),
        (
            "  of the 5, saves that were the first draft in slices whose data were all published",
            "save_to_derived_first_draft_n",
            "{}",
        ),
        ("  their median, s", "save_to_derived_first_draft_s", "{:.2f}"),
        ("  the median of the others (drafts near already), s", "save_to_derived_other_s", "{:.2f}"),
        ("  the save before the 5 while the worker starts (not counted), s", "save_to_derived_warm_up_s", "{:.2f}"),
        ("  1-minute load average at the end of the latency step", "save_to_derived_load_average", "{:.1f}"),
        ("web worker start-up warm-up before its first request (`web/warmup.py`), s", "server_warm_up_s", "{:.1f}"),
        ("unit profile, server time p95, cold, ms", "profile_cold_p95_ms", "{:.0f}"),
        ("unit profile, server time p95, warm, ms", "profile_warm_p95_ms", "{:.0f}"),
        (
            "unit profile without an indicator set (the short list), p95, cold, ms",
            "profile_unset_cold_p95_ms",
            "{:.0f}",
        ),
        (
            "unit profile without an indicator set (the short list), p95, warm, ms",
            "profile_unset_warm_p95_ms",
            "{:.0f}",
        ),
        ("indicator page, server time p95, cold, ms", "indicator_cold_p95_ms", "{:.0f}"),
        ("indicator page, server time p95, warm, ms", "indicator_warm_p95_ms", "{:.0f}"),
        ("coordinator's audit trail (a group of units/5), first request, ms", "audit_trail_first_ms", "{:.0f}"),
        ("  the median of 3 after it, ms", "audit_trail_ms", "{:.0f}"),
        ("coordinator's status board of the latest year, first request, ms", "status_board_first_ms", "{:.0f}"),
        ("  the median of 3 after it, ms", "status_board_ms", "{:.0f}"),
        ("officer's import page with its history, first request, ms", "import_page_first_ms", "{:.0f}"),
        ("  the median of 3 after it, ms", "import_page_ms", "{:.0f}"),
        ("indicator page weight with assets and map, MB", "indicator_page_mb", "{:.2f}"),
        ("the same, gzip-compressed as served in production, MB", "indicator_page_gzip_mb", "{:.2f}"),
        (
            "open data: indicator values stored, both bases (the download reads the published ones)",
            "download_rows",
            "{:,}",
        ),
        *[
            row
            for name, label in (
                ("csv", "whole set as CSV"),
                ("sdmx", "whole set as SDMX-CSV"),
                ("jsonstat", "whole set as JSON-stat"),
                ("xlsx_year", "one year as Excel"),
                ("xlsx_all", "whole set as Excel"),
            )
            for row in (
                (f"open data through `serve`: {label}, HTTP status", f"download_{name}_status", "{}"),
                (f"open data through `serve`: {label}, s", f"download_{name}_s", "{:.1f}"),
                (f"open data through `serve`: {label}, MB", f"download_{name}_mb", "{:.1f}"),
                (
                    f"open data through `serve`: {label}, web worker peak memory GiB",
                    f"download_{name}_peak_gib",
                    "{:.2f}",
                ),
                (
                    "  the same worker before the download (Django and libraries loaded), GiB",
                    f"download_{name}_idle_gib",
                    "{:.2f}",
                ),
            )
        ],
        ("open data: Excel row limit (OPENDATA_XLSX_MAX_ROWS)", "download_xlsx_limit", "{:,}"),
        ("survey: responses", "survey_responses", "{:,}"),
        ("survey: cleaning flags for every response, s", "survey_flags_s", "{:.2f}"),
        ("survey: design weights, raking (3 margins) and trimming, s", "survey_weighting_s", "{:.2f}"),
        ("survey: analysis, computed (7 services + overall, CIs, breakdowns, gaps), s", "survey_analysis_s", "{:.2f}"),
        (
            "survey: analysis page, first request in the process (analysis already kept), ms",
            "survey_page_first_ms",
            "{:.0f}",
        ),
        ("survey: analysis page, p95 of the next 4 (analysis kept), ms", "survey_page_p95_ms", "{:.0f}"),
        ("survey: publication as observations (analysis kept), s", "survey_publish_s", "{:.2f}"),
        ("survey: peak memory of the step, GiB", "survey_peak_gib", "{:.2f}"),
        ("cost sharing: participants of the facility", "coop_participants", "{:,}"),
        ("cost sharing: every method, facility and 2 scenarios, s", "coop_split_s", "{:.2f}"),
        ("cost sharing: facility page, first request, ms", "coop_page_first_ms", "{:.0f}"),
        ("cost sharing: facility page, p95 of the next 4, ms", "coop_page_p95_ms", "{:.0f}"),
        ("cost sharing: decision package PDF, s", "coop_package_pdf_s", "{:.2f}"),
        ("cost sharing: peak memory of the step, GiB", "coop_peak_gib", "{:.2f}"),
        (
            "tariffs: 10-year scenario, 5 classes, phase-in, 20 income groups (stored study, read and computed), median ms",
            "tariff_recompute_ms",
            "{:.1f}",
        ),
        ("tariffs: the same, slowest of 20, ms", "tariff_recompute_max_ms", "{:.1f}"),
        ("tariffs: the scenario page (render included), median ms", "tariff_page_ms", "{:.1f}"),
        ("siting: cells of the study area (10 layers)", "siting_cells", "{}"),
        (
            "siting: constraints, factors, WLC, candidates, TOPSIS and 500 Monte-Carlo draws, s",
            "siting_analysis_s",
            "{:.2f}",
        ),
        ("siting: PNG overlay and GeoTIFF, s", "siting_outputs_s", "{:.2f}"),
        ("siting: the whole run, s", "siting_total_s", "{:.2f}"),
        ("siting: peak memory of the step, GiB", "siting_peak_gib", "{:.2f}"),
        ("social planning: settlements (30 municipalities × 500)", "social_settlements", "{:,}"),
        ("social planning: service points", "social_points", "{:,}"),
        ("social planning: 2SFCA of every settlement, s", "social_2sfca_s", "{:.2f}"),
        ("social planning: E2SFCA (slower of step and Gaussian decay), s", "social_e2sfca_s", "{:.2f}"),
        ("social planning: needs-against-capacity table of the round, s", "social_needs_s", "{:.2f}"),
        ("social planning: E2SFCA and the needs table together, s", "social_total_s", "{:.2f}"),
        ("social planning: peak memory of the step, GiB", "social_peak_gib", "{:.2f}"),
        ("import: rows per file (`--import-rows`)", "import_file_rows", "{:,}"),
        ("import: size of a file, MB", "import_file_mb", "{:.0f}"),
        ("import: first file, s", "import_first_file_s", "{:.1f}"),
        ("import: last file (table full), s", "import_last_file_s", "{:.1f}"),
        ("import: the bare `polars.read_csv` of every file, s", "import_polars_read_s", "{:.1f}"),
        ("import, peak memory GiB", "import_peak_gib", "{:.2f}"),
        ("1-minute load average at the end of the import step (2 cores, shared)", "import_load_average", "{:.1f}"),
        ("catalogue load (YAML), s", "catalog_load_s", "{:.1f}"),
        ("indicator values stored", "indicator_values", "{:,}"),
        ("group statistics stored", "group_statistics", "{:,}"),
    ]
    for db in results.values():
        if db.get("recompute_s") and db.get("bare_compute_s"):
            db["recompute_bare_ratio"] = db["recompute_s"] / (db["bare_read_s"] + db["bare_compute_s"])
    for label, key, fmt in rows:
        target, ok = TARGETS.get(key, ("", None))
        cells = []
        for db in results.values():
            value = db.get(key)
            if value is None:
                cells.append("—")
                continue
            mark = "" if ok is None else (" ✓" if ok(value) else " ✗")
            cells.append(fmt.format(value) + mark)
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
    errors = {db: r["error"] for db, r in results.items() if "error" in r}
    if errors:
        lines += ["", "Errors:", *[f"- {db}: {e}" for db, e in errors.items()]]
    # Sections written by hand below the table (a before/after comparison, notes on a run)
    # are kept: they start at the first level-two heading.
    target = OUT / "RESULTS.md"
    kept = ""
    if target.exists():
        text = target.read_text(encoding="utf-8")
        if "\n## " in text:
            kept = "\n" + text[text.index("\n## ") + 1 :]
    target.write_text("\n".join(lines) + "\n" + kept, encoding="utf-8")
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2500)
    parser.add_argument("--indicators", type=int, default=1000)
    parser.add_argument("--variables", type=int, default=100)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--responses", type=int, default=20_000, help="survey responses in the surveys step")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pg", default=os.environ.get("PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument(
        "--steps",
        default="setup,import,recompute,bare,latency,pages,surveys,cooperation,siting,social,tariffs",
        help="which steps to run, in order (default: all)",
    )
    parser.add_argument(
        "--forced-noop",
        action="store_true",
        help="also time a forced recompute of unchanged data (as long as a full recompute)",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=1_000_000,
        help="rows per CSV file in the import step (a larger one, e.g. 5000000, shows the memory stays flat)",
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.step:
        if args.step in BULK_STEPS:
            # As `municipium import` and `recompute` run (`cli.prepare_process`), before
            # anything loads Polars; the steps that serve pages run as a web worker does.
            sys.path.insert(0, str(ROOT))
            from municipium.lib import allocator

            allocator.keep_freed_memory()
        print(json.dumps(STEPS[args.step](args)))
        return
    results = {}
    previous = OUT / "results.json"
    if "setup" not in args.steps.split(",") and previous.exists():
        # A partial run on the database a full run left: keep that run's other figures.
        results = json.loads(previous.read_text(encoding="utf-8"))
    for kind in args.db.split(","):
        print(f"{kind}:", flush=True)
        url = fresh_database(kind, args.pg) if "setup" in args.steps.split(",") else existing_database(kind, args.pg)
        if "setup" in args.steps.split(",") or kind not in results:
            results[kind] = {}
        results[kind].pop("error", None)  # an earlier run's failure is not this run's
        if "setup" in args.steps.split(","):
            results[kind]["data_scale"] = {k: getattr(args, k) for k in ("units", "indicators", "variables", "years")}
        try:
            for step in args.steps.split(","):
                results[kind].update(run_step(step, url, args))
        except subprocess.CalledProcessError as error:
            results[kind]["error"] = (error.stderr or "").strip().splitlines()[-1:] or [str(error)]
            results[kind]["error"] = results[kind]["error"][0]
        print(json.dumps(results[kind], indent=1), flush=True)
        write_results(results, args)
    write_results(results, args)
    print((OUT / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
