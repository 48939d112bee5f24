"""The starter criteria sets a project can adopt, with where each value comes from.

Values with a binding rule behind them cite it (the US landfill criteria, 40 CFR part 258,
are the best-known national rule with distances in the text). The others are literature
defaults: values common in published landfill-siting studies, among them Iranian ones
(Moeinaddini et al. 2010 for Karaj; Sener et al. 2006), to be replaced by the rule in force
where the project is. A second set, "Iranian guidance", takes what the Iranian Department of Environment's
environmental criteria for disposal sites exclude (river beds, the 100-year flood, the areas
under the Department's management) and the distances of the Management and Planning
Organization (1380/2001) as Persian sources quote them; each criterion says which, and the
values neither text gives stay literature defaults, marked. A planner with the text in force
changes the project's copy and the set's version records it.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import CriteriaSet, Criterion

MOEINADDINI = (
    "Moeinaddini M., Khorasani N., Danehkar A., Darvishsefat A. A., Zienalyan M. (2010), Siting MSW landfill "
    "using weighted linear combination and analytical hierarchy process (AHP) methodology in GIS environment "
    "(case study: Karaj), Waste Management 30(5), 912-920"
)
SENER = (
    "Sener B., Suzen M. L., Doyuran V. (2006), Landfill site selection by using geographic information systems, "
    "Environmental Geology 49, 376-388"
)
CFR = "US 40 CFR part 258 (Criteria for municipal solid waste landfills)"
LITERATURE = "Literature default, to be checked against the rule in force: "

LANDFILL = {
    "name": "Sanitary landfill: literature defaults",
    "legal_status": CriteriaSet.Legal.LITERATURE,
    "source": (
        "Literature defaults for municipal landfill siting; airport, fault and floodplain distances from "
        f"{CFR}; settlement, water, road and slope values as used in {MOEINADDINI} and {SENER}. "
        "Not an Iranian national rule: replace with the Department of Environment's criteria where they apply."
    ),
    "criteria": [
        # code, name, kind, measure, topic, buffer, low, high, shape, benefit, a, b, weight, citation
        (
            "settlements",
            "Settlements",
            "constraint",
            "distance",
            "settlements",
            1000,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + MOEINADDINI,
        ),
        (
            "rivers",
            "Rivers and streams",
            "constraint",
            "distance",
            "rivers",
            300,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + SENER,
        ),
        (
            "wells",
            "Wells and qanats",
            "constraint",
            "distance",
            "wells",
            500,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + MOEINADDINI,
        ),
        (
            "roads",
            "Roads (right of way)",
            "constraint",
            "distance",
            "roads",
            100,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + SENER,
        ),
        (
            "airports",
            "Airports",
            "constraint",
            "distance",
            "airports",
            3048,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            f"{CFR}, § 258.10: 10,000 feet from a runway used by turbojet aircraft",
        ),
        (
            "faults",
            "Faults",
            "constraint",
            "distance",
            "faults",
            61,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            f"{CFR}, § 258.13: 200 feet from a fault displaced in Holocene time",
        ),
        (
            "protected",
            "Protected areas",
            "constraint",
            "distance",
            "protected",
            500,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + MOEINADDINI,
        ),
        (
            "flood",
            "Flood zones",
            "constraint",
            "distance",
            "flood",
            0,
            None,
            None,
            "linear",
            True,
            0,
            1,
            None,
            f"{CFR}, § 258.11: 100-year floodplains (excluded outright here)",
        ),
        (
            "steep",
            "Steep slopes",
            "constraint",
            "slope",
            "elevation",
            0,
            None,
            20,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + SENER,
        ),
        (
            "shallow-water",
            "Shallow groundwater",
            "constraint",
            "value",
            "groundwater",
            0,
            10,
            None,
            "linear",
            True,
            0,
            1,
            None,
            LITERATURE + MOEINADDINI,
        ),
        (
            "far-from-settlements",
            "Distance from settlements",
            "factor",
            "distance",
            "settlements",
            0,
            None,
            None,
            "sigmoid",
            True,
            1000,
            5000,
            0.15,
            LITERATURE + MOEINADDINI,
        ),
        (
            "near-roads",
            "Nearness to roads",
            "factor",
            "distance",
            "roads",
            0,
            None,
            None,
            "linear",
            False,
            100,
            5000,
            0.20,
            LITERATURE + SENER,
        ),
        (
            "far-from-rivers",
            "Distance from rivers",
            "factor",
            "distance",
            "rivers",
            0,
            None,
            None,
            "linear",
            True,
            300,
            3000,
            0.15,
            LITERATURE + SENER,
        ),
        (
            "far-from-wells",
            "Distance from wells and qanats",
            "factor",
            "distance",
            "wells",
            0,
            None,
            None,
            "linear",
            True,
            500,
            3000,
            0.15,
            LITERATURE + MOEINADDINI,
        ),
        (
            "gentle-slope",
            "Gentle slope",
            "factor",
            "slope",
            "elevation",
            0,
            None,
            None,
            "linear",
            False,
            0,
            20,
            0.10,
            LITERATURE + SENER,
        ),
        (
            "deep-water",
            "Depth to groundwater",
            "factor",
            "value",
            "groundwater",
            0,
            None,
            None,
            "linear",
            True,
            10,
            60,
            0.25,
            LITERATURE + MOEINADDINI,
        ),
    ],
}

# Iranian guidance. The Department of Environment's environmental criteria for disposal sites
# of ordinary (municipal) waste name what is excluded but few distances; the distances below
# are the Management and Planning Organization's values of 1380 (2001) as Persian sources
# quote them. Values neither gives stay the literature defaults above and say so.
DOE = (
    "Iran Department of Environment, Environmental criteria for disposal sites of ordinary waste "
    "(ضوابط زیست‌محیطی محل‌های دفع پسماندهای عادی), issued under art. 12 of the Waste Management Law "
    "(1383/2004) and art. 23 of its executive regulation; text as published by the Department's Lorestan "
    "provincial office (lorestandoe.ir)"
)
MPO = (
    "Management and Planning Organization of Iran (1380/2001), landfill siting distances as quoted in "
    "Persian secondary sources (graphicworld.ir, 'حفاظت محیط زیست'); not checked against the primary text"
)
IRAN_VALUES = {
    # code: (buffer in metres, citation)
    "rivers": (100, f"{MPO}: 100 m from rivers and streams; {DOE}, art. 3: never in a river's bed or legal buffer"),
    "wells": (400, f"{MPO}: 400 m from urban water wells"),
    "roads": (30, f"{MPO}: 30 m from the right of way of roads and highways"),
    "airports": (3000, f"{MPO}: at least 3 km from an airport"),
    "protected": (
        0,
        f"{DOE}, art. 2 (the four kinds of area under the Department's management); {MPO}: bird habitats and hunting grounds excluded",
    ),
    "flood": (0, f"{DOE}, art. 4: outside the 100-year flood"),
}
IRAN = {
    "name": "Sanitary landfill: Iranian guidance",
    "legal_status": CriteriaSet.Legal.GUIDELINE,
    "source": (
        f"Exclusions from {DOE}; distances from {MPO}. Settlements, faults, slopes, groundwater and every "
        "factor are the literature defaults of the set 'Sanitary landfill: literature defaults', marked as such "
        "on each criterion: neither text gives them as numbers."
    ),
    "criteria": [
        (*row[:5], IRAN_VALUES[row[0]][0], *row[6:13], IRAN_VALUES[row[0]][1]) if row[0] in IRAN_VALUES else row
        for row in LANDFILL["criteria"]
    ],
}

STARTERS = [LANDFILL, IRAN]


def ensure() -> list[CriteriaSet]:
    """The starter sets, made the first time they are asked for (loading twice changes nothing)."""
    out = []
    with transaction.atomic():
        for starter in STARTERS:
            found = CriteriaSet.objects.filter(project=None, name=starter["name"]).first()
            if found is None:
                found = CriteriaSet.objects.create(
                    name=starter["name"], legal_status=starter["legal_status"], source=starter["source"]
                )
                for order, row in enumerate(starter["criteria"]):
                    code, name, kind, measure, topic, buffer_m, low, high, shape, benefit, a, b, weight, citation = row
                    Criterion.objects.create(
                        criteria_set=found,
                        code=code,
                        name=name,
                        kind=kind,
                        measure=measure,
                        topic=topic,
                        buffer_m=buffer_m,
                        low=low,
                        high=high,
                        shape=shape,
                        benefit=benefit,
                        a=a,
                        b=b,
                        weight=weight,
                        citation=citation,
                        order=order,
                    )
            out.append(found)
    return out


# The starter criteria's names in the reader's language (a project's own names are its own).
NAMES = {
    "Settlements": _("Settlements"),
    "Rivers and streams": _("Rivers and streams"),
    "Wells and qanats": _("Wells and qanats"),
    "Roads (right of way)": _("Roads (right of way)"),
    "Airports": _("Airports"),
    "Faults": _("Faults"),
    "Protected areas": _("Protected areas"),
    "Flood zones": _("Flood zones"),
    "Steep slopes": _("Steep slopes"),
    "Shallow groundwater": _("Shallow groundwater"),
    "Distance from settlements": _("Distance from settlements"),
    "Nearness to roads": _("Nearness to roads"),
    "Distance from rivers": _("Distance from rivers"),
    "Distance from wells and qanats": _("Distance from wells and qanats"),
    "Gentle slope": _("Gentle slope"),
    "Depth to groundwater": _("Depth to groundwater"),
    "Sanitary landfill: literature defaults": _("Sanitary landfill: literature defaults"),
    "Sanitary landfill: Iranian guidance": _("Sanitary landfill: Iranian guidance"),
}


def label(name: str) -> str:
    return str(NAMES.get(name, name))
