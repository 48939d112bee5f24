"""The municipium command as a data officer or operator uses it: exit status and messages."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from municipium.cli import main, prepare_process
from municipium.lib import allocator
from municipium.observations.models import Observation, Revision
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def water():
    area = f.service_area("water")
    produced = f.variable("water_produced", area=area, min_value=0)
    billed = f.variable("water_billed", area=area, min_value=0)
    f.indicator("water_nrw", "100 * (water_produced - water_billed) / water_produced", polarity="lower_is_better")
    units = [f.unit("PL-1002011"), f.unit("PL-1438011")]
    f.group("pl-exchange", units, kind="exchange")
    return produced, billed, units


def test_import_dry_run_lists_every_problem_writes_nothing_and_exits_1(tmp_path, water, capsys):
    path = tmp_path / "kutno.csv"
    path.write_text(
        "unit;variable;period;value\nPL-1002011;water_billed;2024;12,5\nPL-9999999;water_bild;2024;abc\n",
        encoding="cp1250",
    )
    assert main(["import", str(path), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "kutno.csv, row 3, column 'unit': unknown unit 'PL-9999999'" in err
    assert "unknown variable 'water_bild'" in err and "water_billed" in err  # suggests the right code
    assert "'abc' is not a number" in err
    assert Observation.objects.count() == 0


def test_import_commits_all_rows_and_reports_the_batch(tmp_path, water, capsys, django_capture_on_commit_callbacks):
    path = tmp_path / "kutno.csv"
    path.write_text("unit,variable,period,value\nPL-1002011,water_produced,2024,100\nPL-1002011,water_billed,2024,80\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert main(["import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 rows: 2 new, 0 changed, 0 unchanged" in out
    assert not Revision.objects.exists()  # two new figures, each its own first version
    assert {(v[1], v[8]) for v in f.versions()} == {(1, "import")}
    assert main(["export", "indicators", "--group", "pl-exchange", "-o", str(tmp_path / "out.csv")]) == 0
    exported = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert "water_nrw" in exported and "PL-1002011" in exported and ",20" in exported


def test_import_status_and_source_fill_the_rows_that_leave_them_empty(tmp_path, water, capsys):
    path = tmp_path / "published.csv"
    path.write_text(
        "unit,variable,period,value,source,status\n"
        "PL-1002011,water_produced,2024,100,,\n"
        "PL-1002011,water_billed,2024,80,billing system,submitted\n"
    )
    assert main(["import", str(path), "--status", "published", "--source", "Statistics Lithuania"]) == 0
    stored = {o.variable.code: (o.status, o.source) for o in Observation.objects.select_related("variable")}
    assert stored == {
        "water_produced": ("published", "Statistics Lithuania"),
        "water_billed": ("submitted", "billing system"),  # the file's own columns win
    }


def test_import_without_status_keeps_rows_as_drafts(tmp_path, water):
    path = tmp_path / "kutno.csv"
    path.write_text("unit,variable,period,value\nPL-1002011,water_produced,2024,100\n")
    assert main(["import", str(path)]) == 0
    assert Observation.objects.get().status == "draft" and Observation.objects.get().source == ""


def test_import_refuses_an_unknown_status_before_reading(tmp_path, water, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["import", str(tmp_path / "x.csv"), "--status", "final"])
    assert stopped.value.code == 2
    assert "invalid choice: 'final'" in capsys.readouterr().err


def _run_cli(args, env, cwd):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MUNICIPIUM_DATA_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "municipium.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.django_db(False)
def test_import_on_a_never_migrated_database_sets_it_up_instead_of_a_traceback(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("unit,variable,period,value\nPL-1002011,water_produced,2024,100\n")
    checkout = Path(settings.BASE_DIR)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "MUNICIPIUM_DATA_DIR": str(tmp_path)}
    done = _run_cli(["import", str(path), "--dry-run"], env, checkout)
    assert "Traceback" not in done.stderr
    assert "the database is not set up yet" in done.stderr and "applying them first" in done.stderr
    assert "unknown unit 'PL-1002011'" in done.stderr  # the import itself ran, on the set-up database
    assert done.returncode == 1
    again = _run_cli(["import", str(path), "--dry-run"], env, checkout)
    assert "not set up" not in again.stderr  # once set up, nothing more is said


@pytest.mark.django_db(False)
def test_an_unreachable_database_is_one_clear_line(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'db.sqlite3'}",
        "MUNICIPIUM_DATA_DIR": str(tmp_path),
    }
    done = _run_cli(["recompute"], env, Path(settings.BASE_DIR))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot use the database" in done.stderr and "DATABASE_URL" in done.stderr


@pytest.mark.django_db(False)
def test_with_its_own_database_and_no_data_dir_nothing_is_written_into_the_checkout(tmp_path):
    """A PostgreSQL installation without MUNICIPIUM_DATA_DIR uses the user's data folder
    ($XDG_DATA_HOME/municipium), not ./var in the code's folder."""
    code = "from django.conf import settings; print(settings.DATA_DIR); print(settings.STATIC_ROOT)"
    env = {
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "DJANGO_SETTINGS_MODULE": "municipium.settings",
    }
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MUNICIPIUM_DATA_DIR")}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data_dir, static_root = done.stdout.split()
    assert data_dir == str(tmp_path / "xdg" / "municipium")
    assert static_root == str(tmp_path / "xdg" / "municipium" / "static")
    assert (tmp_path / "xdg" / "municipium" / "static").is_dir()
    assert not Path(static_root).is_relative_to(settings.BASE_DIR)


def test_a_missing_file_is_a_clear_error(capsys, water):
    assert main(["import", "/nonexistent/data.csv"]) == 1
    assert "data.csv" in capsys.readouterr().err


def test_catalogue_round_trips_through_yaml_and_a_bad_formula_is_refused(tmp_path, water, capsys):
    out = tmp_path / "catalog.yaml"
    assert main(["catalog", "export", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "water_nrw" in text
    assert main(["catalog", "import", str(out)]) == 0
    assert "0 new" in capsys.readouterr().out
    out.write_text(text.replace("(water_produced - water_billed)", "(water_produced - wter_billed)"), encoding="utf-8")
    assert main(["catalog", "import", str(out), "--dry-run"]) == 1
    assert "unknown name 'wter_billed'" in capsys.readouterr().err


def test_recompute_rebuilds_every_derived_figure(water, capsys):
    produced, billed, units = water
    f.observe(units[0], produced, 2024, 200), f.observe(units[0], billed, 2024, 150)
    assert main(["recompute"]) == 0
    assert "1 indicators" in capsys.readouterr().out


def test_bulk_commands_keep_the_memory_they_free_and_the_web_server_gives_it_back(monkeypatch):
    """Polars' allocator is told before it loads (`lib/allocator`): every command but those
    that start the web server (`serve`, whose task worker is `municipium worker`, a command
    of its own, and `demo`) keeps the memory it frees; an operator's own setting stays."""
    # Set first so that the end of the test takes both away again: delenv of a variable that
    # is not there records nothing, and COMPRESSED_STATIC left behind would reach the
    # processes later tests start.
    for name in (allocator.ENV, "COMPRESSED_STATIC"):
        monkeypatch.setenv(name, "")
    for command in ("recompute", "import", "worker", "export"):
        monkeypatch.delenv(allocator.ENV, raising=False)
        prepare_process(command)
        assert os.environ[allocator.ENV] == allocator.KEEP_FREED == "dirty_decay_ms:-1,muzzy_decay_ms:-1"
    monkeypatch.delenv(allocator.ENV, raising=False)
    monkeypatch.delenv("COMPRESSED_STATIC", raising=False)
    prepare_process("demo")
    assert allocator.ENV not in os.environ and "COMPRESSED_STATIC" not in os.environ
    prepare_process("serve")
    assert allocator.ENV not in os.environ and os.environ["COMPRESSED_STATIC"] == "1"
    monkeypatch.setenv(allocator.ENV, "dirty_decay_ms:5000")
    prepare_process("recompute")
    assert os.environ[allocator.ENV] == "dirty_decay_ms:5000"
