"""Load the demo: starter catalogue, demo units with boundaries, synthetic figures, and the
real Swedish Kolada example, then compute every derived figure.

Everything goes through the same loaders and the same importer a user's own files go
through (the synthetic rows are written to a CSV and imported), so the demo exercises the
real paths. Loading twice changes nothing the second time.
"""

import csv
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from municipium.demo import DemoError

HERE = Path(__file__).resolve().parent
STARTER = HERE.parent / "catalog" / "starter"
KOLADA = settings.BASE_DIR / "examples" / "kolada"
FIELDS = ["unit", "variable", "period", "value", "missing", "breakdown", "source", "comment", "status"]


def _check(report, what: str) -> None:
    if report.problems:
        lines = "\n".join(str(p) for p in report.problems[:20])
        raise DemoError(_("The demo data did not load (%(what)s):\n%(problems)s") % {"what": what, "problems": lines})


def synthetic_csv(path: Path) -> int:
    """Write the synthetic observations for the demo units to `path`; return the row count."""
    from municipium.catalog.files import catalogue_files
    from municipium.demo.synthetic import generate

    catalog: dict = {}
    for file in catalogue_files(STARTER):
        for section, items in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).items():
            catalog.setdefault(section, []).extend(items or [])
    demo = yaml.safe_load((HERE / "units.yaml").read_text(encoding="utf-8"))
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        successions = [
            {"predecessor": unit["code"], "successor": s["code"], "kind": s.get("kind"), "date": s.get("date")}
            for unit in demo["units"]
            for s in unit.get("successors") or ()
        ]
        for row in generate(catalog, demo["units"], successions=successions):
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
            count += 1
    return count


# The starter sets each demo group follows, as its coordinator would adopt them in the group
# workspace (demo content: the groups' real agreements are theirs to make).
DEMO_SETS = {
    "rasina": ["water_core", "waste_core", "roads_core", "population_core"],
    "rasina-water": ["water_core"],
    "rasina-waste": ["waste_core"],
    "pl-exchange": [
        "water_core",
        "waste_core",
        "housing_core",
        "roads_core",
        "taxes_core",
        "investment_core",
        "population_core",
    ],
    "pazardzhik": ["water_core", "waste_core", "social_core", "population_core"],
    "alytus": ["water_core", "waste_core", "geodesy_core", "population_core"],
    "qom": ["water_core", "waste_core", "roads_core", "population_core"],
}


def adopt_demo_sets() -> None:
    from municipium.catalog import services
    from municipium.catalog.models import IndicatorSet
    from municipium.places.models import Group

    for code, set_codes in DEMO_SETS.items():
        group = Group.objects.filter(code=code).first()
        if group is None:
            continue
        indicators = [
            entry.indicator
            for set_code in set_codes
            for entry in IndicatorSet.objects.get(code=set_code).entries.select_related("indicator")
        ]
        services.adopt(group, indicators, via="command")


def load_demo(
    progress: Callable[[str], None] = lambda text: None, *, kolada: bool = True, recompute: bool = True
) -> None:
    from municipium.benchmarks import engine
    from municipium.catalog.files import load_catalog
    from municipium.demo.meetings import load_meetings
    from municipium.demo.surveys import load_surveys
    from municipium.observations import imports
    from municipium.places.files import attach_boundaries, load_units

    progress(_("Loading the starter catalogue…"))
    _check(load_catalog(STARTER), "starter catalogue")
    progress(_("Loading the demo units and groups…"))
    _check(load_units(HERE / "units.yaml"), "units")
    _check(attach_boundaries(HERE / "boundaries.geojson", key_property="code"), "boundaries")

    progress(_("Generating and importing the synthetic figures…"))
    # A private folder per run: two loads at once (parallel tests, two terminals) must not
    # write into each other's file.
    with tempfile.TemporaryDirectory(prefix="municipium-demo-") as folder:
        synthetic = Path(folder) / "demo-synthetic.csv"
        synthetic_csv(synthetic)
        _check(imports.commit(synthetic), "synthetic observations")

    if kolada and KOLADA.is_dir():
        progress(_("Loading the Swedish Kolada example…"))
        _check(load_catalog(KOLADA / "catalog.yaml"), "Kolada catalogue")
        _check(load_units(KOLADA / "units.yaml"), "Kolada units")
        _check(attach_boundaries(KOLADA / "boundaries.geojson", key_property="code"), "Kolada boundaries")
        _check(imports.commit(KOLADA / "observations.csv"), "Kolada observations")

    progress(_("Giving the demo groups their indicator sets…"))
    adopt_demo_sets()

    # After the indicator sets, so publishing adds the survey indicators to the groups' sets.
    progress(_("Running the demo user-satisfaction surveys…"))
    load_surveys()

    progress(_("Adding the demo working bodies, meetings and consultations…"))
    load_meetings()

    from municipium.demo.cooperation import load_cooperation

    progress(_("Adding the demo agreements and shared facilities…"))
    load_cooperation()
    # The landfill siting around Qom (synthetic layers) on the Qom cooperation group.
    from municipium.demo.siting import load_siting

    load_siting()

    from municipium.demo.socialplanning import load_socialplanning

    progress(_("Adding the demo social-service planning round…"))
    load_socialplanning()

    from municipium.demo.tariffs import load_tariffs

    progress(_("Adding the demo tariff studies…"))
    load_tariffs()

    if recompute:
        progress(_("Computing indicators and group statistics…"))
        engine.recompute_all()
        # The plan's baselines are the derived figures of 2020, so it comes after them.
        from municipium.demo.plans import load_plans

        progress(_("Adding the demo strategic plan…"))
        load_plans()
    progress(_("The demo data are loaded."))
