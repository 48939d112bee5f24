"""`make bench` runs: every step of bench/run.py at a toy scale, as `make bench` runs them
(a process a step, the real importer, engine, worker, web server and pages), so that a
change to the code they drive cannot leave the benchmark broken until the next person
measures. Two steps were found broken that way (issue 18): the bare pass still called a
trend expression the engine had replaced, and the surveys step imported a module renamed
a month before. The figures are not checked for speed here, only for being there and
consistent; the targets live in the benchmark (bench/RESULTS.md)."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STEPS = "setup,import,recompute,bare,parts,latency,pages,download,surveys,cooperation,tariffs,social,siting"
UNITS, INDICATORS, VARIABLES, YEARS = 10, 5, 4, 3

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the benchmark makes its own databases; run once, in the SQLite pass of the suite",
)


def test_the_run_below_covers_every_step_of_the_benchmark():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # its top level imports the standard library only
    assert set(STEPS.split(",")) == set(bench.STEPS)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def test_every_step_of_the_benchmark_runs_and_reports_consistent_figures(tmp_path):
    checked_in = [ROOT / "bench" / "RESULTS.md", ROOT / "bench" / "results.json"]
    before = [_digest(path) for path in checked_in]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["MUNICIPIUM_BENCH_OUT"] = str(tmp_path)
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--db",
        "sqlite",
        "--steps",
        STEPS,
        *("--units", str(UNITS), "--indicators", str(INDICATORS), "--variables", str(VARIABLES)),
        *("--years", str(YEARS), "--import-rows", "50", "--responses", "300"),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["sqlite"]
    assert "error" not in found, found["error"]

    # Every observation went in (the importer's own count), in several files: the later ones
    # into a table that already holds the first's.
    assert found["observations"] == UNITS * VARIABLES * YEARS
    assert found["import_files"] > 1
    # The rebuild stored what it says, and the no-op after it skipped every indicator.
    assert found["recompute_written"]["benchmarks_valueseries"] == found["indicator_values"] > 0
    assert found["recompute_written"]["benchmarks_groupstatistic"] == found["group_statistics"] > 0
    assert found["recompute_unchanged_skipped"] == INDICATORS
    assert found["recompute_parts_indicators"] == INDICATORS
    # The bare pass computed values on both bases (published ones are fewer) and statistics.
    assert found["indicator_values"] <= found["bare_values"] < 2 * found["indicator_values"]
    assert found["bare_statistics"] > 0
    # Five saves reached the derived figures through a real worker.
    assert len(found["save_to_derived_samples_s"]) == 5
    assert all(0 < seconds < 30 for seconds in found["save_to_derived_samples_s"])
    # The pages answered (the step raises on any status but 200) and weigh something.
    assert found["profile_warm_p95_ms"] > 0 and found["indicator_warm_p95_ms"] > 0
    assert found["indicator_page_mb"] > 0
    # The downloads through `serve`: every format whole, Excel refused only above its limit.
    for name in ("csv", "sdmx", "jsonstat", "xlsx_year", "xlsx_all"):
        assert found[f"download_{name}_status"] == 200, (name, found[f"download_{name}_status"])
    assert found["survey_responses"] == 300
    for key in ("coop_page_p95_ms", "tariff_recompute_ms", "siting_total_s", "social_total_s"):
        assert found[key] > 0, key

    written = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "| full recompute, s |" in written and "Errors:" not in written
    # The checkout's own results are the last real measurement's: a toy run leaves them.
    assert [_digest(path) for path in checked_in] == before


def test_the_series_store_experiment_runs_on_both_databases():
    # bench/series_storage.py is not a step of `make bench` (an experiment for the storage
    # change ARCHITECTURE.md plans), but its figures are quoted there: it must keep running.
    pg = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    command = [sys.executable, str(ROOT / "bench" / "series_storage.py"), "--db", "sqlite,postgres", "--pg", pg]
    command += ["--indicators", "10", "--units", "20", "--years", "5"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for database in ("sqlite", "postgres"):
        report = done.stdout.split(f"{database}: ", 1)[1]
        assert report.startswith("200 series of 5 periods (1,000 values)"), report[:200]
        assert "of which the value again as 50 slices" in report.splitlines()[0]
        reads = [line for line in report.splitlines()[1:] if line.startswith("  ")][:10]
        assert len(reads) == 10 and all(line.endswith("ms (median of 9)") for line in reads), reads
