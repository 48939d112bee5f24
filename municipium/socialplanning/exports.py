"""The round's and a proposal's xlsx and PDF, the supply template, the accessibility map's
GeoJSON: all from `planning`, so they say what the pages say."""

from __future__ import annotations

import polars as pl
from django.http import HttpResponse
from django.utils.translation import gettext as _

from municipium.lib.numbers import format_number
from municipium.lib.tabular import to_xlsx

from . import planning
from .models import Proposal, Service, Settlement
from .services import SERVICE_COLUMNS, SETTLEMENT_COLUMNS

# Colours of the accessibility map, lowest to highest places per 1,000 (colour-blind safe).
COLOURS = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]


def supply_workbook(unit) -> bytes:
    """The supply template, filled with what the municipality has (empty rows to fill in
    otherwise): sheets settlements and services."""
    settlements = list(Settlement.objects.filter(unit=unit))
    rows = Service.objects.filter(provider__unit=unit).select_related("provider", "service_type")
    settlement_frame = pl.DataFrame(
        {
            "unit": [unit.code for _s in settlements],
            "code": [s.code for s in settlements],
            "name": [s.name for s in settlements],
            "lon": [s.lon for s in settlements],
            "lat": [s.lat for s in settlements],
            "population": [s.population for s in settlements],
        },
        schema={c: (pl.Float64 if c in ("lon", "lat", "population") else pl.String) for c in SETTLEMENT_COLUMNS},
    )
    numeric = {"year", "lon", "lat", "capacity", "users", "waiting", "staff"}
    records = [
        {
            "unit": unit.code,
            "provider": s.provider.name,
            "provider_kind": s.provider.kind,
            "licence": s.provider.licence,
            "service_type": s.service_type.code,
            "service": s.name,
            "year": float(s.year),
            "lon": s.lon,
            "lat": s.lat,
            "capacity": s.capacity,
            "users": s.users,
            "waiting": s.waiting,
            "staff": s.staff,
            "funding": s.funding,
            "settlements": ";".join(x.code for x in s.settlements.all()),
        }
        for s in rows
    ]
    schema = {c: (pl.Float64 if c in numeric else pl.String) for c in SERVICE_COLUMNS}
    service_frame = pl.DataFrame(records, schema=schema) if records else pl.DataFrame(schema=schema)
    return to_xlsx({"settlements": settlement_frame, "services": service_frame})


def _needs_frame(table) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "service_type": s.service_type.code,
                "unit": row.unit.code,
                "name": row.unit.label,
                "target_population": row.target,
                "need": row.line.need if row.line else None,
                "capacity": row.line.capacity if row.line else None,
                "users": row.line.users if row.line else None,
                "waiting": row.line.waiting if row.line else None,
                "gap": row.line.gap if row.line else None,
                "coverage": row.line.coverage if row.line else None,
                "flags": ",".join(row.flags),
            }
            for s in table
            for row in s.rows
        ],
        schema={
            "service_type": pl.String,
            "unit": pl.String,
            "name": pl.String,
            "target_population": pl.Float64,
            "need": pl.Float64,
            "capacity": pl.Float64,
            "users": pl.Float64,
            "waiting": pl.Float64,
            "gap": pl.Float64,
            "coverage": pl.Float64,
            "flags": pl.String,
        },
    )


def _lines_frame(round_, unit) -> pl.DataFrame:
    proposals = Proposal.objects.filter(round=round_).select_related("unit")
    if unit is not None:
        proposals = proposals.filter(unit=unit)
    return pl.DataFrame(
        [
            {
                "unit": p.unit.code,
                "service_type": line.service_type.code,
                "places": line.places,
                "funding": line.funding,
                "note": line.note,
            }
            for p in proposals
            for line in p.lines.select_related("service_type")
        ],
        schema={
            "unit": pl.String,
            "service_type": pl.String,
            "places": pl.Float64,
            "funding": pl.String,
            "note": pl.String,
        },
    )


def response(round_, unit, fmt: str) -> HttpResponse:
    """The proposal (of one municipality, or the round's when `unit` is None) as xlsx or PDF."""
    units = [unit] if unit is not None else None
    table = planning.needs_table(round_, units)
    name = f"social-{round_.code}" + (f"-{unit.code}" if unit is not None else "")
    shared = [
        (s, planning.shared_quotas(s))
        for s in round_.shared.select_related("service_type", "host", "agreement")
        if unit is None or s.agreement.parties.filter(unit=unit).exists()
    ]
    if fmt == "xlsx":
        quotas = pl.DataFrame(
            [
                {
                    "service_type": s.service_type.code,
                    "host": s.host.code,
                    "agreement": s.agreement.code,
                    "unit": q["unit"].code,
                    "need": q["need"],
                    "places": q["places"],
                    "council_decision": q["party"].council_number,
                }
                for s, rows in shared
                for q in rows
            ],
            schema={
                "service_type": pl.String,
                "host": pl.String,
                "agreement": pl.String,
                "unit": pl.String,
                "need": pl.Float64,
                "places": pl.Float64,
                "council_decision": pl.String,
            },
        )
        units_checked = [unit] if unit is not None else planning.members(round_)
        check = pl.DataFrame(
            [
                {
                    "unit": u.code,
                    "service_type": c["service_type"].code,
                    "need": c["need"],
                    "capacity": c["capacity"],
                    "proposed": c["proposed"],
                    "proposed_minus_need": c["difference"],
                    "flags": ", ".join(c["flags"]),
                }
                for u in units_checked
                for c in planning.proposal_check(round_, u, table)
            ],
            schema={
                "unit": pl.String,
                "service_type": pl.String,
                "need": pl.Float64,
                "capacity": pl.Float64,
                "proposed": pl.Float64,
                "proposed_minus_need": pl.Float64,
                "flags": pl.String,
            },
        )
        data = to_xlsx(
            {
                "needs": _needs_frame(table),
                "proposal": _lines_frame(round_, unit),
                "check": check,
                "shared": quotas,
            }
        )
        out = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        out["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return out
    from municipium.lib.pdf import printed

    proposals = Proposal.objects.filter(round=round_).select_related("unit", "consultation")
    if unit is not None:
        proposals = proposals.filter(unit=unit)
    context = {
        "round": round_,
        "unit": unit,
        "table": table,
        "shared": shared,
        "proposals": [(p, list(p.lines.select_related("service_type"))) for p in proposals],
    }
    out = HttpResponse(printed("socialplanning/print_proposal.html", context), content_type="application/pdf")
    out["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return out


def access_geojson(result: planning.Accessibility) -> dict:
    """Settlements coloured by places per 1,000 of the target group within reach (quintiles
    of the settlements' values), and the service points."""
    values = sorted(result.access)
    cuts = [values[int(len(values) * k / 5)] for k in range(1, 5)] if values else []
    features = []
    for settlement, value in zip(result.settlements, result.access, strict=True):
        band = sum(value > c for c in cuts)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [settlement.lon, settlement.lat]},
                "properties": {
                    "kind": "settlement",
                    "label": settlement.name,
                    "value": value,
                    "value_text": _("%(value)s places per 1,000") % {"value": format_number(value, 2)},
                    "color": COLOURS[min(band, 4)],
                    "population": settlement.population,
                },
            }
        )
    for service, ratio, unreached in zip(result.services, result.ratio, result.unreached, strict=True):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [service.lon, service.lat]},
                "properties": {
                    "kind": "service",
                    "label": service.name,
                    "value": ratio,
                    "value_text": _("no demand within reach")
                    if unreached
                    else _("%(value)s places per 1,000") % {"value": format_number(ratio, 2)},
                },
            }
        )
    units = {s.unit_id: s.unit for s in result.settlements}
    outlines = [
        {"type": "Feature", "geometry": u.boundary, "properties": {"kind": "unit", "label": u.label, "value_text": ""}}
        for u in units.values()
        if u.boundary
    ]
    return {"type": "FeatureCollection", "features": outlines + features}
