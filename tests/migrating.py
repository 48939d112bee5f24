"""Tests of the observations' data migrations: the database taken to an earlier migration,
filled as the code of that time would have, then taken forward (and back)."""

from types import SimpleNamespace

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: tuple[str, str]):
    """The database at `target` (an observations migration; the other apps at their
    latest); the historical models of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "observations"]
    return executor.loader.project_state([*others, target]).apps


def latest() -> None:
    """Every app's latest state: going back took the apps whose migrations depend on
    observations' later ones back too (benchmarks' value series, among others)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def world(apps) -> SimpleNamespace:
    """Two units (MA, MB), a variable and a year, in the historical models of `apps`."""
    Unit, Variable = apps.get_model("places", "Unit"), apps.get_model("catalog", "Variable")
    Period = apps.get_model("observations", "Period")
    a, b = (Unit.objects.create(code=c, name={"en": c}, kind="municipality") for c in ("MA", "MB"))
    area = apps.get_model("catalog", "ServiceArea").objects.create(code="mig_area")
    return SimpleNamespace(
        a=a,
        b=b,
        variable=Variable.objects.create(code="mig_v", name={"en": "v"}, service_area=area),
        period=Period.objects.create(code="2031", kind="year", ordinal=2031, start="2031-01-01", end="2031-12-31"),
        Batch=apps.get_model("observations", "ImportBatch"),
        Observation=apps.get_model("observations", "Observation"),
        Revision=apps.get_model("observations", "Revision"),
    )
