"""A small world for the cooperation tests: four Rasina municipalities in a cooperation
group sharing the Ćelije reservoir, a coordinator, an officer of Brus, an outsider; an
agreement with parties and an obligation; a wastewater plant shared by Brus and Blace."""

import datetime as dt
from dataclasses import dataclass

from municipium.accounts.models import Role
from municipium.cooperation import services
from municipium.cooperation.models import Agreement, Facility, Obligation, Participant, Party
from municipium.places.models import Group
from tests import factories as f

CODES = {"RS-70670": "Kruševac", "RS-70343": "Brus", "RS-70262": "Blace", "RS-70017": "Aleksandrovac"}


@dataclass
class World:
    units: dict
    group: object
    coordinator: object
    brus_officer: object
    outsider: object
    agreement: Agreement
    obligation: Obligation
    plant: Facility


def build() -> World:
    units = {code: f.unit(code, {"en": name}) for code, name in CODES.items()}
    group = f.group("celije", list(units.values()), kind=Group.Kind.COOPERATION)
    coordinator = f.person("coordinator", Role.Kind.COORDINATOR, group)
    brus_officer = f.person("brus", Role.Kind.OFFICER, units["RS-70343"])
    brus_officer.email = "brus@example.org"
    brus_officer.save()
    outsider = f.person("outsider")
    agreement = services.save_agreement(
        coordinator,
        Agreement(
            code="celije",
            title="Memorandum on protecting the Ćelije reservoir",
            kind="memorandum",
            group=group,
            status="signed",
            signed=dt.date(2019, 5, 20),
        ),
    )
    parties = {
        code: services.save_party(coordinator, Party(agreement=agreement, unit=unit)) for code, unit in units.items()
    }
    obligation = services.save_obligation(
        coordinator,
        Obligation(
            agreement=agreement,
            party=parties["RS-70343"],
            text="Build the wastewater plant design",
            due=dt.date(2020, 6, 30),
        ),
    )
    plant = services.save_facility(
        coordinator,
        Facility(
            code="brus-blace-wwtp",
            name="Brus–Blace wastewater plant",
            kind="plant",
            group=group,
            year=2023,
            capital_cost=4_000_000,
            interest_rate=0.04,
            lifetime=25,
            fixed_opex=120_000,
            variable_opex=80_000,
            fixed_driver="pe",
            variable_driver="pe",
            scale_driver="pe",
            scale_fixed=40_000,
            scale_unit=60.0,
            scale_exponent=0.7,
        ),
    )
    services.save_participant(coordinator, Participant(facility=plant, unit=units["RS-70343"], drivers={"pe": 9000}))
    services.save_participant(coordinator, Participant(facility=plant, unit=units["RS-70262"], drivers={"pe": 6000}))
    return World(units, group, coordinator, brus_officer, outsider, agreement, obligation, plant)
