"""Demo cooperation: SYNTHETIC figures on real structures, made through the services the
pages call. The Ćelije reservoir memorandum of Kruševac, Brus, Blace and Aleksandrovac (their
only water source), the Brus–Blace wastewater cooperation with a shared plant whose cost is
split, and the Qom mayors' memorandum on training, technical help and staff insurance. Dates,
decision numbers, costs and volumes are invented; every text says so. Loading twice changes
nothing."""

import datetime as dt

from django.db import transaction

from municipium.catalog.models import Indicator
from municipium.cooperation import services
from municipium.cooperation.models import (
    Agreement,
    Facility,
    InventoryLine,
    Obligation,
    Participant,
    Party,
    Scenario,
    Zone,
)
from municipium.places.models import Group, Membership, Unit

NOTE = "\n\n[Demo: synthetic content on a real structure.]"


def _group(code: str, name: dict, members: list[str]) -> Group:
    group, made = Group.objects.get_or_create(code=code, defaults={"name": name, "kind": Group.Kind.COOPERATION})
    if made:
        for unit in Unit.objects.filter(code__in=members):
            Membership.objects.create(group=group, unit=unit)
    return group


def _agreement(code, group, parties, obligations, **fields) -> Agreement | None:
    if Agreement.objects.filter(code=code).exists():
        return None
    fields["subject"] = fields.get("subject", "") + NOTE
    indicators = Indicator.objects.filter(code__in=fields.pop("indicators", []))
    agreement = services.save_agreement(None, Agreement(code=code, group=group, **fields), indicators=indicators)
    made = {}
    for n, unit_code in enumerate(parties, start=1):
        unit = Unit.objects.get(code=unit_code)
        made[unit_code] = services.save_party(
            None,
            Party(
                agreement=agreement,
                unit=unit,
                council_number=f"{n:02d}-{40 + n}/2019",
                council_date=dt.date(2019, 4, 10 + n),
                signatory="",
                seats=1,
                votes=1,
            ),
        )
    for unit_code, text, due, done in obligations:
        obligation = services.save_obligation(
            None, Obligation(agreement=agreement, party=made[unit_code], text=text, due=due)
        )
        if done:
            services.report_obligation(None, obligation, Obligation.Status.DONE, done, today=due)
    return agreement


@transaction.atomic
def load_cooperation() -> None:
    rasina = ["RS-70670", "RS-70343", "RS-70262", "RS-70017"]
    celije = _group("celije", {"en": "Ćelije reservoir protection", "sr": "Заштита акумулације Ћелије"}, rasina)
    _agreement(
        "celije-memorandum",
        celije,
        rasina,
        [
            (
                "RS-70670",
                "Финансирати мониторинг квалитета воде акумулације",
                dt.date(2020, 12, 31),
                "Уговор о мониторингу бр. 352-14/2020",
            ),
            (
                "RS-70343",
                "Израдити пројекат постројења за пречишћавање отпадних вода",
                dt.date(2021, 6, 30),
                "Пројекат усвојен 2021",
            ),
            ("RS-70262", "Израдити пројекат постројења за пречишћавање отпадних вода", dt.date(2022, 6, 30), ""),
            ("RS-70017", "Уредити санитарне зоне заштите у планским документима", dt.date(2026, 12, 31), ""),
        ],
        title="Меморандум о заштити акумулације Ћелије",
        kind=Agreement.Kind.MEMORANDUM,
        status=Agreement.Status.SIGNED,
        signed=dt.date(2019, 5, 20),
        subject="Заштита јединог извора водоснабдевања четири општине.",
        published=True,
        indicators=["wastewater_treated_share", "water_quality_compliance"],
    )
    celije_memo = Agreement.objects.get(code="celije-memorandum")
    if not celije_memo.zones.exists():
        # Buffers around an approximate intake position: the zones' sizes are illustrative.
        for level, metres, rule in (
            ("I", 500, "Забрањен приступ осим за одржавање."),
            ("II", 3000, "Забрањена изградња и употреба пестицида."),
            ("III", 10000, "Ограничене индустријске делатности."),
        ):
            services.save_zone(
                None,
                Zone(agreement=celije_memo, source="Акумулација Ћелије", level=level, restrictions=rule + NOTE),
                lon=21.28,
                lat=43.47,
                distance=metres,
            )
    brus_blace = _group(
        "brus-blace", {"en": "Brus–Blace wastewater cooperation", "sr": "Сарадња Брус–Блаце"}, ["RS-70343", "RS-70262"]
    )
    agreement = _agreement(
        "brus-blace-wastewater",
        brus_blace,
        ["RS-70343", "RS-70262"],
        [("RS-70343", "Обезбедити локацију за заједничко постројење", dt.date(2024, 3, 31), "")],
        title="Споразум о сарадњи у управљању отпадним водама Брус–Блаце",
        kind=Agreement.Kind.AGREEMENT,
        status=Agreement.Status.NEGOTIATION,
        subject="Заједничко постројење за пречишћавање отпадних вода.",
        published=True,
    )
    if agreement is not None and not Facility.objects.filter(code="brus-blace-wwtp").exists():
        plant = services.save_facility(
            None,
            Facility(
                code="brus-blace-wwtp",
                name="ППОВ Брус–Блаце (демо)",
                kind=Facility.Kind.PLANT,
                group=brus_blace,
                agreement=agreement,
                year=2024,
                capital_cost=480_000_000,
                interest_rate=0.04,
                lifetime=30,
                fixed_opex=18_000_000,
                variable_opex=12_000_000,
                fixed_driver="pe",
                variable_driver="wastewater_m3",
                scale_driver="pe",
                scale_fixed=6_000_000,
                scale_unit=95_000,
                scale_exponent=0.7,
            ),
        )
        for code, pe, m3 in (("RS-70343", 9000, 520_000), ("RS-70262", 7000, 410_000)):
            services.save_participant(
                None,
                Participant(
                    facility=plant,
                    unit=Unit.objects.get(code=code),
                    drivers={"pe": pe, "wastewater_m3": m3},
                    actual={"wastewater_m3": m3 * 1.08},
                ),
            )
        # Two what-ifs the councils asked for: an EU grant covering 60 % of the investment,
        # and a commercial loan at 7 % instead of the development bank's 4 %.
        for name, changes in (
            ("Грант ЕУ 60 %", {"capital_cost": 192_000_000}),
            ("Комерцијални кредит 7 %", {"interest_rate": 0.07}),
        ):
            services.save_scenario(None, Scenario(facility=plant, name=name, **changes))
    if not InventoryLine.objects.filter(group=brus_blace).exists():
        for code, actor, category, theme, item, measure, have, need in (
            ("RS-70343", "ЈКП Брус", "staff", "отпадне воде", "Технолог за пречишћавање", "FTE", 0, 1),
            ("RS-70262", "ЈКП Блаце", "staff", "отпадне воде", "Технолог за пречишћавање", "FTE", 1, 1),
            ("RS-70343", "ЈКП Брус", "equipment", "водовод", "Детектор губитака", "ком", 1, 1),
            ("RS-70262", "ЈКП Блаце", "equipment", "водовод", "Детектор губитака", "ком", 0, 1),
            ("RS-70343", "Општина Брус", "data", "водовод", "ГИС мреже", "", 0, 1),
            ("RS-70262", "Општина Блаце", "data", "водовод", "ГИС мреже", "", 1, 1),
        ):
            services.save_line(
                None,
                InventoryLine(
                    group=brus_blace,
                    unit=Unit.objects.get(code=code),
                    actor=actor,
                    category=category,
                    theme=theme,
                    item=item,
                    measure=measure,
                    have=have,
                    need=need,
                ),
            )
    qom = ["IR-QOM-01", "IR-QOM-02", "IR-QOM-03", "IR-QOM-04", "IR-QOM-05", "IR-QOM-06"]
    qom_group = _group(
        "qom-cooperation", {"en": "Qom municipalities' cooperation", "fa": "همکاری شهرداری‌های استان قم"}, qom
    )
    _agreement(
        "qom-memorandum",
        qom_group,
        qom,
        [
            ("IR-QOM-01", "برگزاری دوره آموزشی کارکنان شهرداری‌های کوچک", dt.date(2025, 3, 20), ""),
            ("IR-QOM-01", "کمک فنی در تهیه طرح جمع‌آوری پسماند", dt.date(2025, 9, 22), ""),
            ("IR-QOM-03", "معرفی کارکنان برای بیمه تکمیلی", dt.date(2024, 12, 20), "فهرست ارسال شد"),
        ],
        title="تفاهم‌نامه آموزش، کمک فنی و بیمه کارکنان",
        kind=Agreement.Kind.MEMORANDUM,
        status=Agreement.Status.SIGNED,
        signed=dt.date(2024, 5, 14),
        subject="همکاری مرکز استان با شهرهای کوچک‌تر.",
        published=True,
    )
