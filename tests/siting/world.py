"""A small world for the siting tests, built once per module: the Qom cooperation group with
four member municipalities, a coordinator, an officer of Kahak (a member), a viewer inside the
group, an outsider; the demo project (synthetic layers) at coarse cells, run once."""

from dataclasses import dataclass

from municipium.accounts.models import Role
from municipium.demo import siting as demo
from municipium.places.models import Group
from municipium.siting.models import Project, Run
from tests import factories as f

NAMES = {
    "IR-QOM-01": "Qom",
    "IR-QOM-02": "Jafariyeh",
    "IR-QOM-03": "Kahak",
    "IR-QOM-06": "Qanavat",
    "IR-QOM-04": "Salafchegan",
}


@dataclass
class World:
    units: dict
    group: object
    coordinator: object
    officer: object
    viewer: object
    outsider: object
    project: Project
    run: Run


def build(cell: float = 1500.0) -> World:
    units = {code: f.unit(code, {"en": name}) for code, name in NAMES.items()}
    group = f.group("qom-cooperation", list(units.values()), kind=Group.Kind.COOPERATION)
    coordinator = f.person("coordinator", Role.Kind.COORDINATOR, group)
    officer = f.person("kahak", Role.Kind.OFFICER, units["IR-QOM-03"])
    viewer = f.person("viewer", Role.Kind.VIEWER, group)
    outsider = f.person("outsider")
    demo.load_siting(cell=cell)
    project = Project.objects.get(code="qom-landfill")
    return World(units, group, coordinator, officer, viewer, outsider, project, project.runs.get())
