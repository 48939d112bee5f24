"""Demo bodies, meetings, decisions and consultations: SYNTHETIC content on the real
structure of the seed stories, made through the same services the pages call.

- Kutno: the Polish exchange group's two-day meeting of 6–7 February 2018 that agreed the
  water indicator set and checked data availability (the date and place are the story's;
  attendance, minutes and decisions are invented).
- Qom: the province's mayors' forum meets in a different town each time; three rounds, each
  reviewing what the last decided (carried-over decisions) and choosing the next host.
- Pazardzhik: the planning meetings that set deadlines for a draft agreement, a public
  consultation in every municipality and council decisions by 30 March 2023.
- Alytus: five working groups set up by the mayor's order No. M-18 of 2020-06-02 (the order
  is the story's; the groups' themes and members are invented, the names are not people's).

Every body's mandate ends with DEMO_NOTE so nobody mistakes it for a record. Loading twice
changes nothing: a body that exists is left as it is; each story is made in one transaction.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from municipium.catalog.models import IndicatorSet
from municipium.meetings import services
from municipium.meetings.models import Body, Comment, Consultation, Meeting, Member
from municipium.places.models import Group, Unit

DEMO_NOTE = "\n\n[Demo: synthetic content on a real structure.]"


def _at(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute))


def _unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


def _body(code: str, **fields) -> Body | None:
    """A new body, or None when the demo made it before."""
    if Body.objects.filter(code=code).exists():
        return None
    fields["mandate"] = fields.get("mandate", "") + DEMO_NOTE
    return services.save_body(None, Body(code=code, **fields))


def _members(body: Body, people) -> list[Member]:
    return [
        services.save_member(None, Member(body=body, name=name, role=role, affiliation=affiliation, kind=kind))
        for name, role, affiliation, kind in people
    ]


def _hold(meeting: Meeting, members, minutes: str, *, absent=(), next_host=None, next_place="", site_visits=""):
    services.record_attendance(
        None, meeting, {m.pk: ("absent" if i in absent else "present") for i, m in enumerate(members)}
    )
    services.save_minutes(
        None,
        meeting,
        minutes=minutes,
        site_visits=site_visits,
        status=Meeting.Status.HELD,
        next_host=next_host,
        next_place=next_place,
    )
    services.publish_minutes(None, meeting)


def _meeting(body, title, start, end, host, place="") -> Meeting:
    return services.save_meeting(None, Meeting(body=body, title=title, starts=start, ends=end, host=host, place=place))


@transaction.atomic
def kutno() -> None:
    body = _body(
        "pl-water-exchange",
        name="Grupa wymiany doświadczeń: zaopatrzenie w wodę",
        kind=Body.Kind.EXCHANGE_SERIES,
        group=Group.objects.get(code="pl-exchange"),
        appointed_by="Związek Miast Polskich",
        mandate="Uzgodnić wskaźniki usług wodociągowych, sprawdzić dostępność danych i porównywać wyniki co roku.",
        themes="woda, straty wody, koszty",
    )
    if body is None:
        return
    people = [
        ("Koordynator ZMP", Member.Role.CHAIR, "Związek Miast Polskich", Member.Kind.PARTNER),
        ("Sekretarz grupy", Member.Role.SECRETARY, "Związek Miast Polskich", Member.Kind.PARTNER),
        ("Przedstawiciel Kutna", Member.Role.MEMBER, "Urząd Miasta Kutno", Member.Kind.ADMINISTRATION),
        ("Przedstawiciel Bydgoszczy", Member.Role.MEMBER, "MWiK Bydgoszcz", Member.Kind.UTILITY),
        ("Przedstawiciel Jarocina", Member.Role.MEMBER, "Urząd Miejski w Jarocinie", Member.Kind.ADMINISTRATION),
        ("Przedstawiciel Kozienic", Member.Role.MEMBER, "Urząd Miejski w Kozienicach", Member.Kind.ADMINISTRATION),
    ]
    members = _members(body, people)
    meeting = _meeting(
        body,
        "Spotkanie grupy w Kutnie",
        _at("2018-02-06", 10),
        _at("2018-02-07", 15),
        _unit("PL-1002011"),
        "Urząd Miasta Kutno",
    )
    water = IndicatorSet.objects.filter(code="water_core").first()
    services.add_agenda_item(None, meeting, "Zestaw wskaźników: zaopatrzenie w wodę", link=water)
    services.add_agenda_item(
        None, meeting, "Sprawdzenie dostępności danych w miastach", "Macierz dostępności w przestrzeni grupy."
    )
    d1 = services.add_decision(
        None,
        meeting,
        text="Przyjąć zestaw wskaźników wodnych na rok 2017.",
        owner=members[1],
        deadline=dt.date(2018, 2, 28),
    )
    services.add_decision(
        None,
        meeting,
        text="Każde miasto przekazuje dane za 2017 rok do 30 kwietnia 2018 r.",
        owner_unit=_unit("PL-1002011"),
        deadline=dt.date(2018, 4, 30),
    )
    _hold(
        meeting,
        members,
        "<p>Grupa omówiła projekt zestawu wskaźników i sprawdziła, które dane miasta już zbierają.</p>"
        "<ul><li>Straty wody: dane dostępne we wszystkich miastach.</li>"
        "<li>Koszty: różne definicje, potrzebne ujednolicenie.</li></ul>",
        site_visits="Stacja uzdatniania wody w Kutnie",
        absent={5},
    )
    services.set_decision_status(None, d1, "done", "Zestaw przyjęty.", today=dt.date(2018, 2, 20))


@transaction.atomic
def qom() -> None:
    body = _body(
        "qom-mayors",
        name="مجمع شهرداران استان قم",
        kind=Body.Kind.MAYORS_FORUM,
        group=Group.objects.get(code="qom"),
        appointed_by="استانداری قم",
        mandate="هماهنگی خدمات شهری، پیگیری مصوبات و مقایسه شاخص‌های آب و پسماند.",
    )
    if body is None:
        return
    towns = ["IR-QOM-01", "IR-QOM-02", "IR-QOM-03", "IR-QOM-04", "IR-QOM-05", "IR-QOM-06"]
    people = [
        (
            f"شهردار {_unit(code).name.get('fa', code)}",
            Member.Role.CHAIR if i == 0 else Member.Role.MEMBER,
            "",
            Member.Kind.ADMINISTRATION,
        )
        for i, code in enumerate(towns)
    ]
    people.append(("دبیر مجمع", Member.Role.SECRETARY, "استانداری قم", Member.Kind.ADMINISTRATION))
    members = _members(body, people)
    rounds = [
        ("2024-05-14", "IR-QOM-01", "IR-QOM-03"),
        ("2024-09-10", "IR-QOM-03", "IR-QOM-02"),
        ("2025-01-21", "IR-QOM-02", "IR-QOM-05"),
    ]
    carried = None
    for n, (day, host, next_host) in enumerate(rounds, start=1):
        meeting = _meeting(body, f"نشست {n} مجمع شهرداران", _at(day, 9), _at(day, 13), _unit(host))
        services.add_agenda_item(None, meeting, "مقایسه شاخص‌های آب شهرها")
        if n == 1:
            carried = services.add_decision(
                None,
                meeting,
                text="هر شهرداری داده‌های آب بدون درآمد را تا پایان شهریور ارسال کند.",
                owner_unit=_unit("IR-QOM-04"),
                deadline=dt.date(2024, 9, 1),
            )
            services.add_decision(
                None, meeting, text="کارگروه مشترک پسماند تشکیل شود.", owner=members[-1], deadline=dt.date(2024, 7, 1)
            )
        elif n == 2:
            services.add_decision(
                None,
                meeting,
                text="طرح مشترک دفن بهداشتی پسماند تا دی‌ماه تهیه شود.",
                owner_unit=_unit("IR-QOM-03"),
                deadline=dt.date(2025, 1, 15),
            )
        else:
            services.set_decision_status(None, carried, "done", "داده‌ها دریافت شد.", today=dt.date(2025, 1, 21))
        _hold(
            meeting,
            members,
            "<p>مصوبات نشست قبل بررسی شد و مصوبات جدید ثبت شد.</p>",
            next_host=_unit(next_host),
            absent={n},
        )


@transaction.atomic
def pazardzhik() -> None:
    body = _body(
        "pazardzhik-planning",
        name="Работна група за регионално планиране — област Пазарджик",
        kind=Body.Kind.WORKING_GROUP,
        group=Group.objects.get(code="pazardzhik"),
        appointed_by="Областен управител на област Пазарджик",
        mandate="Подготовка на споразумение за съвместно управление на отпадъците, обществени консултации и "
        "решения на общинските съвети.",
    )
    if body is None:
        return
    members = _members(
        body,
        [
            ("Председател на работната група", Member.Role.CHAIR, "Областна администрация", Member.Kind.ADMINISTRATION),
            ("Секретар", Member.Role.SECRETARY, "Областна администрация", Member.Kind.ADMINISTRATION),
            ("Представител на община Пазарджик", Member.Role.MEMBER, "Община Пазарджик", Member.Kind.ADMINISTRATION),
            ("Представител на община Велинград", Member.Role.MEMBER, "Община Велинград", Member.Kind.ADMINISTRATION),
            ("Представител на гражданите", Member.Role.MEMBER, "", Member.Kind.CITIZEN),
        ],
    )
    first = _meeting(
        body, "Първо заседание", _at("2023-01-10", 10), _at("2023-01-10", 13), _unit("BG-PAZ19"), "Областна управа"
    )
    services.add_decision(
        None,
        first,
        text="Проектът на споразумение се изпраща на общините.",
        owner=members[1],
        deadline=dt.date(2023, 1, 25),
    )
    services.add_decision(
        None, first, text="Всяка община провежда обществена консултация от 30 дни.", deadline=dt.date(2023, 3, 3)
    )
    services.add_decision(
        None, first, text="Общинските съвети вземат решение до 30 март 2023 г.", deadline=dt.date(2023, 3, 30)
    )
    _hold(first, members, "<p>Работната група прие график: проект, консултации, решения на съветите.</p>")
    municipalities = ["BG-PAZ19", "BG-PAZ08", "BG-PAZ21", "BG-PAZ20"]
    for i, code in enumerate(municipalities):
        unit = _unit(code)
        consultation = services.save_consultation(
            None,
            Consultation(
                unit=unit,
                body=body,
                code=f"waste-agreement-{code.lower()}",
                title=f"Споразумение за отпадъците — {unit.name.get('bg', code)}",
                summary="Проект на споразумение за съвместно депо и разпределение на разходите." + DEMO_NOTE,
                opens=dt.date(2023, 1, 30),
                closes=dt.date(2023, 3, 1),
                council_deadline=dt.date(2023, 3, 30),
                published=True,
            ),
        )
        for j, text in enumerate(
            ["Разходите да се делят според количеството отпадъци.", "Нужен е по-кратък път до депото."]
        ):
            comment = services.submit_comment(
                consultation, name="", text=text, ip=f"demo-{code}-{j}", today=dt.date(2023, 2, 5 + j)
            )
            services.moderate(None, comment, Comment.State.PUBLISHED, "разходи" if j == 0 else "транспорт")
            services.answer(
                None,
                comment,
                "Приема се." if j == 0 else "Ще се разгледа при избора на площадка.",
                "Ключ за разпределение по тонаж." if j == 0 else "",
                today=dt.date(2023, 3, 6),
            )
        if i < 3:  # the last municipality's council had not decided yet
            services.record_council_decision(
                None,
                consultation,
                number=f"{120 + i}/2023",
                date=dt.date(2023, 3, 28),
                summary="Съветът одобрява споразумението.",
                today=dt.date(2023, 3, 28),
            )


@transaction.atomic
def alytus() -> None:
    themes = [
        ("water", "Vandens tiekimo ir nuotekų darbo grupė", "vanduo, nuotekos"),
        ("waste", "Atliekų tvarkymo darbo grupė", "atliekos, sąvartynas"),
        ("roads", "Kelių ir transporto darbo grupė", "keliai, transportas"),
        ("social", "Socialinių paslaugų darbo grupė", "socialinės paslaugos"),
        ("geodesy", "Teritorijų planavimo ir geodezijos darbo grupė", "planavimas, geodezija"),
    ]
    for key, name, topic in themes:
        body = _body(
            f"alytus-{key}",
            name=name,
            kind=Body.Kind.WORKING_GROUP,
            unit=_unit("LT-02"),
            appointed_by="Alytaus miesto savivaldybės meras",
            act_number="M-18",
            act_date=dt.date(2020, 6, 2),
            mandate=f"Parengti siūlymus ir stebėti rodiklius: {topic}.",
            themes=topic,
            term_start=dt.date(2020, 6, 2),
        )
        if body is None:
            continue
        _members(
            body,
            [
                ("Grupės pirmininkas", Member.Role.CHAIR, "Savivaldybės administracija", Member.Kind.ADMINISTRATION),
                (
                    "Grupės sekretorius",
                    Member.Role.SECRETARY,
                    "Savivaldybės administracija",
                    Member.Kind.ADMINISTRATION,
                ),
                ("Tarybos narys", Member.Role.MEMBER, "Savivaldybės taryba", Member.Kind.COUNCIL),
                ("Įmonės atstovas", Member.Role.MEMBER, "Savivaldybės įmonė", Member.Kind.UTILITY),
                ("Bendruomenės atstovas", Member.Role.MEMBER, "", Member.Kind.CITIZEN),
            ],
        )


def load_meetings() -> None:
    kutno()
    qom()
    pazardzhik()
    alytus()
