"""The municipium command as a data officer or operator uses it: exit status and messages."""

import pytest

from municipium.cli import main
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
    assert Revision.objects.count() == 2
    assert main(["export", "indicators", "--group", "pl-exchange", "-o", str(tmp_path / "out.csv")]) == 0
    exported = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert "water_nrw" in exported and "PL-1002011" in exported and ",20" in exported


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
