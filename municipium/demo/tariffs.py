"""Demo tariff studies, every figure SYNTHETIC (labelled so on every page and PDF):

- the towns of Qom province, whose mayors noted that waste fees had been fixed for years and
  agreed to propose reasonable increases: Qom, Kahak and Qanavat, waste fees per household
  unchanged since 2019 under Iran's high inflation, each with a "fees frozen" scenario and a
  phase-in to 80 % cost recovery by 2029 under a cap on the yearly real increase; Qom's is
  under public consultation and was adopted;
- JKP Vodovod Kruševac, a Serbian water utility with increasing-block tariffs (a lifeline
  block) for households, phased in to full cost recovery by 2028.

The structure is real (the units, the currencies, the kinds of tariff, the thresholds'
sources); the amounts are invented at plausible orders of magnitude. Everything goes through
the services the pages call. Loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from municipium.places.models import Unit

NOTE = "Synthetic demo figures: invented amounts on real structure."
# Iran's consumer price inflation (Statistical Centre of Iran / Central Bank, rounded), 2019–2024.
IRAN_INFLATION = [0.41, 0.36, 0.40, 0.46, 0.41, 0.32]
# Household income by decile, rial a year (synthetic, shaped like the Iranian household
# expenditure and income survey's deciles).
QOM_DECILES = [
    180e6,
    310e6,
    400e6,
    480e6,
    570e6,
    670e6,
    790e6,
    950e6,
    1_220e6,
    2_100e6,
]
SERBIA_QUINTILES = [420_000, 720_000, 960_000, 1_250_000, 1_900_000]  # RSD a year, synthetic

WASTE_THRESHOLD = (
    0.01,
    "1 % of household income, a common guide for solid waste fees (World Bank and EU accession studies use 1–1.5 %)",
)
WATER_THRESHOLD = (0.03, "3 % of household income for water and sanitation (UNDP, Human Development Report 2006)")

QOM_TOWNS = {
    # code: (households, tonnes a year, fee per household a year in rial, operating cost in rial)
    "IR-QOM-01": (380_000, 420_000, 2_500_000, 2_150e9),
    "IR-QOM-03": (1_100, 1_150, 1_600_000, 4.9e9),
    "IR-QOM-06": (2_900, 2_950, 1_700_000, 12.5e9),
}


def _study(services, Study, **fields):
    found = Study.objects.filter(code=fields["code"]).first()
    if found is not None:
        return None
    return services.save_study(None, Study(synthetic=True, notes=NOTE, **fields))


def _qom(services, models) -> None:
    Study, CustomerClass, Scenario = models
    for code, (households, tonnes, fee, opex) in QOM_TOWNS.items():
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            continue
        study = _study(
            services,
            Study,
            code=f"waste-{code.lower()}",
            name=f"Waste fees, {unit.name.get('en', code)} (demo)",
            unit=unit,
            service="waste",
            currency="IRR",
            base_year=2024,
            unchanged_since=2019,
            past_inflation=IRAN_INFLATION,
            operating={
                "staff": opex * 0.46,
                "fuel": opex * 0.14,
                "maintenance": opex * 0.12,
                "disposal": opex * 0.18,
                "administration": opex * 0.10,
            },
            investment=opex * 1.5,
            rate=0.18,
            lifetime=10,
            non_tariff_revenue=opex * 0.05,
            collection=0.78,
            variable_share=0.35,
            fixed=fee,
            ref_persons=3.3,
            threshold=WASTE_THRESHOLD[0],
            threshold_source=WASTE_THRESHOLD[1],
            incomes=[
                {"label": f"decile {i + 1}", "households": households / 10, "income": income}
                for i, income in enumerate(QOM_DECILES)
            ],
            income_source="Synthetic deciles shaped like Iran's household income and expenditure survey",
        )
        if study is None:
            continue
        business = households * 0.09
        for name, customers, share, charge, elasticity in [
            ("households", households, 0.62, fee, -0.05),
            ("shops and business", business, 0.30, fee * 4, -0.1),
            ("institutions", households * 0.01, 0.08, fee * 6, 0.0),
        ]:
            # The waste fee is per customer: volume is the tonnes each class sets out.
            class_tonnes = tonnes * share
            services.save_class(
                None,
                CustomerClass(
                    study=study,
                    name=name,
                    customers=customers,
                    demand=class_tonnes,
                    price=0,
                    fixed_charge=charge,
                    fixed_share=share,
                    elasticity=elasticity,
                ),
            )
        services.save_scenario(
            None, Scenario(study=study, name="Fees frozen", years=10, inflation=0.30, collection=0.78, increase=-0.2308)
        )
        phased = services.save_scenario(
            None,
            Scenario(
                study=study,
                name="Phase-in to 80 % cost recovery by 2029",
                years=10,
                inflation=0.30,
                collection=0.85,
                target=0.8,
                by_year=2029,
                cap=0.25,
            ),
        )
        if code == "IR-QOM-01":
            _qom_consultation(study, unit)
            from municipium.demo.surveys import demo_actor

            services.adopt(demo_actor(), phased)


def _qom_consultation(study, unit) -> None:
    from municipium.meetings import services as meetings
    from municipium.meetings.models import Comment, Consultation

    consultation = meetings.save_consultation(
        None,
        Consultation(
            unit=unit,
            code="qom-waste-fee-2025",
            title="بهای خدمات پسماند ۱۴۰۴ (نمونه)",
            summary="پیشنهاد افزایش تدریجی بهای خدمات پسماند تا پوشش کامل هزینه‌ها در ۱۴۰۸. " + NOTE,
            opens=dt.date(2024, 11, 1),
            closes=dt.date(2024, 11, 30),
            council_deadline=dt.date(2024, 12, 20),
            published=True,
        ),
    )
    for j, text in enumerate(["برای دهک‌های پایین تخفیف در نظر گرفته شود.", "کیفیت جمع‌آوری هم باید بهتر شود."]):
        comment = meetings.submit_comment(
            consultation, name="", text=text, ip=f"demo-tariff-{j}", today=dt.date(2024, 11, 5 + j)
        )
        meetings.moderate(None, comment, Comment.State.PUBLISHED, "")
        meetings.answer(
            None, comment, "پذیرفته شد." if j == 0 else "در برنامه عملیاتی آمده است.", "", today=dt.date(2024, 12, 2)
        )
    meetings.record_council_decision(
        None,
        consultation,
        number="۱۴۰۳/۲۱۸",
        date=dt.date(2024, 12, 15),
        summary="شورا افزایش تدریجی را تصویب کرد.",
        today=dt.date(2024, 12, 15),
    )
    study.consultation = consultation
    study.save(update_fields=["consultation"])


def _krusevac(services, models) -> None:
    Study, CustomerClass, Scenario = models
    unit = Unit.objects.filter(code="RS-70670-VOD").first()
    if unit is None:
        return
    study = _study(
        services,
        Study,
        code="water-rs-70670-vod",
        name="Water tariff, JKP Vodovod Kruševac (demo)",
        unit=unit,
        service="water",
        currency="RSD",
        base_year=2024,
        unchanged_since=2021,
        past_inflation=[0.119, 0.121, 0.046],
        operating={
            "staff": 420e6,
            "energy": 280e6,
            "maintenance": 190e6,
            "administration": 120e6,
            "other": 60e6,
        },
        depreciation=220e6,
        debt_service=95e6,
        non_tariff_revenue=40e6,
        collection=0.91,
        variable_share=0.3,
        fixed=2_400,
        blocks=[[72, 95.0], [180, 130.0], [None, 180.0]],
        ref_persons=3,
        ref_m3=120,
        threshold=WATER_THRESHOLD[0],
        threshold_source=WATER_THRESHOLD[1],
        incomes=[
            {"label": f"quintile {i + 1}", "households": 9_200, "income": income}
            for i, income in enumerate(SERBIA_QUINTILES)
        ],
        income_source="Synthetic quintiles shaped like the Serbian Survey on Income and Living Conditions",
    )
    if study is None:
        return
    for name, customers, demand, price, charge, share, elasticity in [
        ("households", 46_000, 5_600_000, 110.0, 2_400, 0.55, -0.15),
        ("business", 3_100, 1_300_000, 210.0, 9_600, 0.3, -0.2),
        ("institutions", 260, 420_000, 180.0, 12_000, 0.15, -0.05),
    ]:
        services.save_class(
            None,
            CustomerClass(
                study=study,
                name=name,
                customers=customers,
                demand=demand,
                price=price,
                fixed_charge=charge,
                fixed_share=share,
                elasticity=elasticity,
                growth=0.002,
            ),
        )
    services.save_scenario(
        None, Scenario(study=study, name="Inflation only", years=10, inflation=0.04, collection=0.91, increase=0.0)
    )
    services.save_scenario(
        None,
        Scenario(
            study=study,
            name="Full cost recovery by 2028",
            years=10,
            inflation=0.04,
            collection=0.93,
            target=1.0,
            by_year=2028,
            cap=0.08,
        ),
    )


def load_tariffs() -> None:
    from municipium.tariffs import services
    from municipium.tariffs.models import CustomerClass, Scenario, Study

    models = (Study, CustomerClass, Scenario)
    with transaction.atomic():
        _qom(services, models)
        _krusevac(services, models)
