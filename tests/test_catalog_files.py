"""Loading and saving the catalogue as YAML."""

from pathlib import Path

import pytest

from municipium.audit.models import AuditEvent
from municipium.catalog.files import dump_catalog, load_catalog
from municipium.catalog.models import Breakdown, Category, Indicator, IndicatorSet, ServiceArea, Variable
from tests import factories as f

pytestmark = pytest.mark.django_db

STARTER = Path(__file__).resolve().parent.parent / "municipium" / "catalog" / "starter"

SMALL = """\
service_areas:
  - {code: water, name: {en: Water and sewage, pl: Wodociągi i kanalizacja, sr: Водовод}}
breakdowns:
  - code: sex
    name: {en: Sex}
    categories: [{code: F, name: {en: Women}}, {code: M, name: {en: Men}}]
variables:
  - {code: water_produced, service_area: water, name: {en: Water produced}, unit: "m³", period: year, min: 0}
  - {code: water_billed, service_area: water, name: {en: Water billed}, unit: {en: "m³", pl: "m³"}, min: 0}
  - {code: staff, service_area: water, name: {en: Staff}, breakdown: sex, min: 0, max: 100000}
indicators:
  - code: water_nrw
    service_area: water
    name: {en: Non-revenue water}
    formula: "100 * (water_produced - water_billed) / water_produced"
    unit: "%"
    dimension: quality
    polarity: lower_is_better
    decimals: 1
    target: 20
    thresholds: {good: 20, poor: 35}
  - {code: water_staff_f, service_area: water, name: {en: Women on staff}, formula: '100 * staff["F"] / sum(staff)',
     unit: "%", dimension: quantity}
indicator_sets:
  - {code: water_core, name: {en: Core}, indicators: [water_nrw, water_staff_f]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def messages(report):
    return [str(p) for p in report.problems]


def test_a_small_catalogue_loads_with_everything_in_it(tmp_path):
    report = load_catalog(write(tmp_path, "water.yaml", SMALL))
    assert report.ok, messages(report)
    assert report.created == 1 + 1 + 2 + 3 + 2 + 1
    nrw = Indicator.objects.get(code="water_nrw")
    assert (nrw.polarity, nrw.dimension, nrw.target, nrw.thresholds) == (
        "lower_is_better",
        "quality",
        20.0,
        {"good": 20.0, "poor": 35.0},
    )
    assert Variable.objects.get(code="water_produced").unit_of_measure == {"en": "m³"}
    assert Variable.objects.get(code="staff").breakdown.code == "sex"
    assert list(Category.objects.filter(breakdown__code="sex").values_list("code", flat=True)) == ["F", "M"]
    assert list(IndicatorSet.objects.get().entries.values_list("indicator__code", flat=True)) == [
        "water_nrw",
        "water_staff_f",
    ]
    assert AuditEvent.objects.filter(action="create", model="catalog.indicator").count() == 2


def test_loading_the_same_catalogue_twice_changes_nothing(tmp_path):
    path = write(tmp_path, "water.yaml", SMALL)
    load_catalog(path)
    events = AuditEvent.objects.count()
    again = load_catalog(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert AuditEvent.objects.count() == events


def test_a_changed_definition_updates_by_code_and_is_audited_with_before_and_after(tmp_path):
    load_catalog(write(tmp_path, "water.yaml", SMALL))
    report = load_catalog(write(tmp_path, "water.yaml", SMALL.replace("target: 20", "target: 15")))
    assert (report.created, report.updated) == (0, 1)
    event = AuditEvent.objects.get(action="update", model="catalog.indicator")
    assert (event.before["target"], event.after["target"]) == (20.0, 15.0)
    assert Indicator.objects.get(code="water_nrw").target == 15.0


def test_an_unknown_name_in_a_formula_is_reported_with_file_path_and_column(tmp_path):
    bad = SMALL.replace("(water_produced - water_billed)", "(water_produced - wter_billed)")
    report = load_catalog(write(tmp_path, "water.yaml", bad))
    assert messages(report) == [
        "water.yaml: indicators[0].formula: column 25: unknown name 'wter_billed' "
        "(expected: a variable or indicator code such as water_billed)"
    ]
    assert not ServiceArea.objects.exists() and not AuditEvent.objects.exists()


def test_every_kind_of_mistake_is_reported_and_nothing_is_written(tmp_path):
    bad = (
        SMALL.replace("service_area: water, name: {en: Water billed}", "service_area: wodа, name: {en: Water billed}")
        .replace("breakdown: sex, min: 0, max: 100000", "breakdown: gender, min: 10, max: 1")
        .replace("dimension: quality", "dimension: beauty")
        .replace("decimals: 1", "decimals: 9")
        .replace("indicators: [water_nrw, water_staff_f]", "indicators: [water_nrw, water_nrv]")
        .replace("formula: '100 * staff[\"F\"] / sum(staff)'", "formula: '100 * (staff'")
    )
    report = load_catalog(write(tmp_path, "water.yaml", bad))
    paths = [p.path for p in report.problems]
    assert paths == [
        "variables[1].service_area",
        "variables[2].breakdown",
        "variables[2].max",
        "indicators[0].decimals",
        "indicators[0].dimension",
        "indicators[1].formula",
        "indicator_sets[0].indicators[1]",
    ]
    assert report.problems[5].message.startswith("column 13:")
    assert not Variable.objects.exists()


def test_indicators_that_refer_to_each_other_in_a_circle_are_refused(tmp_path):
    circle = SMALL.replace('100 * staff["F"] / sum(staff)', "water_nrw + 1").replace(
        "100 * (water_produced - water_billed) / water_produced", "water_staff_f * 2"
    )
    report = load_catalog(write(tmp_path, "water.yaml", circle))
    assert len(report.problems) == 1
    assert report.problems[0].path == "indicators[0].formula"
    assert "water_nrw → water_staff_f → water_nrw" in report.problems[0].message


def test_a_duplicate_code_across_files_names_both_places(tmp_path):
    write(tmp_path, "a.yaml", SMALL)
    write(tmp_path, "b.yaml", "variables:\n  - {code: staff, service_area: water, name: {en: Staff again}}\n")
    report = load_catalog(tmp_path)
    assert messages(report) == [
        "b.yaml: variables[0].code: the code 'staff' is defined twice (first at a.yaml: "
        "variables[2]) (expected: each code once)"
    ]


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    report = load_catalog(write(tmp_path, "broken.yaml", "variables:\n  - {code: x, name: [unclosed\n"))
    assert report.problems[0].path.startswith("line 3") and "not valid YAML" in report.problems[0].message


def test_an_indicator_set_can_belong_to_a_group_loaded_before(tmp_path):
    f.group("mazovia")
    text = SMALL.replace("{code: water_core, name: {en: Core},", "{code: water_core, group: mazovia, name: {en: Core},")
    assert load_catalog(write(tmp_path, "water.yaml", text)).ok
    assert IndicatorSet.objects.get().group.code == "mazovia"


def test_the_starter_catalogue_loads_as_one_catalogue_from_its_folder():
    report = load_catalog(STARTER)
    assert report.ok, messages(report)[:10]
    assert ServiceArea.objects.filter(code="water").exists() and Breakdown.objects.filter(code="sex").exists()
    assert Indicator.objects.count() > 10
    again = load_catalog(STARTER)
    assert again.created == again.updated == 0


def test_a_saved_catalogue_loads_back_unchanged(tmp_path):
    load_catalog(write(tmp_path, "water.yaml", SMALL))
    saved = write(tmp_path / "..", "saved.yaml", dump_catalog())
    report = load_catalog(saved)
    assert report.ok and (report.created, report.updated) == (0, 0)
