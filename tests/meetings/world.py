"""A small world for the meetings tests: Kutno and Bydgoszcz in an exchange group, a body of
the group with a secretary, a member and an outsider, a meeting held, and a consultation of
Kutno's. Built per test (a handful of rows, milliseconds)."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from municipium.accounts.models import Role
from municipium.meetings import services
from municipium.meetings.models import Body, Consultation, Meeting, Member
from municipium.places.models import Group
from tests import factories as f


@dataclass
class World:
    kutno: object
    bydgoszcz: object
    group: object
    body: Body
    secretary: object
    member: object
    outsider: object
    coordinator: object
    secretary_member: Member
    plain_member: Member
    meeting: Meeting


def at(day: str, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day).replace(hour=hour))


def build() -> World:
    kutno = f.unit("PL-1002011", {"en": "Kutno", "pl": "Kutno", "fa": "کوتنو"})
    bydgoszcz = f.unit("PL-0461011", {"en": "Bydgoszcz"})
    group = f.group("pl-exchange", [kutno, bydgoszcz], kind=Group.Kind.EXCHANGE)
    coordinator = f.person("coordinator", Role.Kind.COORDINATOR, group)
    secretary = f.person("secretary")
    member = f.person("member")
    outsider = f.person("outsider")
    body = services.save_body(
        coordinator,
        Body(
            code="water-exchange",
            name="Water exchange group",
            kind=Body.Kind.EXCHANGE_SERIES,
            group=group,
            appointed_by="Association of Polish Cities",
            act_number="12/2017",
            act_date=dt.date(2017, 11, 20),
            mandate="Agree water indicators and check data availability.",
        ),
    )
    secretary_member = services.save_member(
        coordinator, Member(body=body, name="Anna Nowak", role=Member.Role.SECRETARY, user=secretary)
    )
    plain_member = services.save_member(
        coordinator, Member(body=body, name="Jan Kowalski", role=Member.Role.MEMBER, user=member, affiliation="Kutno")
    )
    meeting = services.save_meeting(
        secretary,
        Meeting(body=body, title="Kutno meeting", starts=at("2018-02-06", 9), ends=at("2018-02-07", 16), host=kutno),
    )
    return World(
        kutno, bydgoszcz, group, body, secretary, member, outsider, coordinator, secretary_member, plain_member, meeting
    )


def consultation(unit, body=None, *, opens=None, closes=None, published=True, **fields) -> Consultation:
    today = timezone.localdate()
    return services.save_consultation(
        None,
        Consultation(
            unit=unit,
            body=body,
            code=fields.pop("code", "water-tariff-2023"),
            title=fields.pop("title", "Water tariff 2023"),
            summary="A new tariff for water and sewage.",
            opens=opens or today - dt.timedelta(days=5),
            closes=closes or today + dt.timedelta(days=25),
            published=published,
            **fields,
        ),
    )
