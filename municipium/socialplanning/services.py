"""Every change to social-service planning: checked, in one transaction, audited. A refusal
is a `PlanningError` naming the field (or, for a file, the sheet, row and column)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record, snapshot
from municipium.lib.numbers import format_number

from .models import Norm, NormTable, Proposal, ProposalLine, Provider, Round, Service, ServiceType, Settlement

STARTER = Path(__file__).resolve().parent / "starter.yaml"
FILE_LIMIT = 5 * 1024 * 1024


class PlanningError(ValueError):
    def __init__(self, message: str, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row  # the row of a table of rows (a norms table's norms), counted from 0


def _save(actor, instance, via="web", note=""):
    model = type(instance)
    before = snapshot(model.objects.get(pk=instance.pk)) if instance.pk else None
    instance.save()
    record(
        "update" if before else "create",
        instance,
        actor=actor,
        before=before,
        after=snapshot(instance),
        via=via,
        note=note,
    )
    return instance


# -- service types and norms -------------------------------------------------------------------


def save_service_type(actor, item: ServiceType) -> ServiceType:
    if not item.code or not item.code.strip():
        raise PlanningError(_("Give the service type a code."), "code")
    if ServiceType.objects.filter(code=item.code).exclude(pk=item.pk).exists():
        raise PlanningError(_("Another service type has the code %(code)s.") % {"code": item.code}, "code")
    if item.kind not in ServiceType.Kind.values:
        raise PlanningError(_("Unknown kind of service: %(kind)s") % {"kind": item.kind}, "kind")
    if item.level not in ServiceType.Level.values:
        raise PlanningError(_("Unknown planning level: %(level)s") % {"level": item.level}, "level")
    if item.minimum_places is not None and item.minimum_places < 0:
        raise PlanningError(_("The smallest viable service cannot be negative."), "minimum_places")
    if not any((item.name or {}).values()):
        raise PlanningError(_("Name the service type."), "name")
    with transaction.atomic():
        return _save(actor, item)


def load_starter(actor) -> tuple[int, int]:
    """The starter service types (the kinds of the Bulgarian Social Services Act) and the
    starter norms tables (published benchmarks with their citation, and labelled examples).
    Loading twice changes nothing; an existing item keeps its edits."""
    import yaml

    from municipium.catalog.models import Variable

    data = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    types = tables = 0
    with transaction.atomic():
        for order, entry in enumerate(data["service_types"]):
            if ServiceType.objects.filter(code=entry["code"]).exists():
                continue
            save_service_type(
                actor,
                ServiceType(
                    code=entry["code"],
                    name=entry["name"],
                    kind=entry["kind"],
                    level=entry.get("level", "municipal"),
                    country=entry.get("country", ""),
                    order=order,
                ),
            )
            types += 1
        for entry in data["norm_tables"]:
            if NormTable.objects.filter(code=entry["code"], version=entry["version"]).exists():
                continue
            table = _save(
                actor,
                NormTable(
                    code=entry["code"],
                    version=entry["version"],
                    title=entry["title"],
                    jurisdiction=entry["jurisdiction"],
                    source=entry["source"].strip(),
                    effective=entry["effective"],
                    status=entry["status"],
                ),
            )
            for norm in entry["norms"]:
                save_norm(
                    actor,
                    Norm(
                        table=table,
                        service_type=ServiceType.objects.get(code=norm["service_type"]),
                        variable=Variable.objects.get(code=norm["variable"]),
                        categories=norm.get("categories", []),
                        places=norm["places"],
                        per=norm.get("per", 1000),
                        note=norm.get("note", ""),
                    ),
                )
            tables += 1
    return types, tables


def check_norm_table(table: NormTable) -> None:
    if not table.code or not table.code.strip():
        raise PlanningError(_("Give the table a code."), "code")
    if not table.version or table.version < 1:
        raise PlanningError(_("The version is a whole number from 1."), "version")
    clash = NormTable.objects.filter(code=table.code, version=table.version).exclude(pk=table.pk)
    if clash.exists():
        raise PlanningError(
            _("Version %(version)s of %(code)s exists already; give the next version a higher number.")
            % {"version": format_number(table.version, 0), "code": table.code},
            "version",
        )
    for name, message in (
        ("title", _("Give the table a title.")),
        ("jurisdiction", _("Say where the norms apply (a country, a region, or example).")),
        ("source", _("Cite the source of the norms: the law, the publication, or that they are examples.")),
    ):
        if not (getattr(table, name) or "").strip():
            raise PlanningError(message, name)
    if table.status not in NormTable.Status.values:
        raise PlanningError(_("Unknown legal status: %(status)s") % {"status": table.status}, "status")
    if table.effective is None:
        raise PlanningError(_("Give the date from which the norms apply."), "effective")


def save_norm_table(actor, table: NormTable, norms: list[Norm], removed: list[Norm] | None = None) -> NormTable:
    """A norms table and its norms at once: every norm is checked first, a refusal names the
    row and the column, and nothing is saved unless all are right."""
    check_norm_table(table)
    for row, norm in enumerate(norms):
        try:
            check_norm(norm)
        except PlanningError as error:
            error.row = row
            raise
    seen: dict[tuple, int] = {}
    for row, norm in enumerate(norms):
        key = (norm.service_type_id, norm.variable_id, tuple(sorted(norm.categories or [])))
        if key in seen:
            raise PlanningError(
                _("This target group already has a norm for this service type in row %(row)s.")
                % {"row": format_number(seen[key] + 1, 0)},
                "categories",
                row,
            )
        seen[key] = row
    with transaction.atomic():
        _save(actor, table)
        for norm in removed or []:
            if norm.pk and norm.table_id == table.pk:
                record("delete", norm, actor=actor, before=snapshot(norm), after=None, via="web")
                norm.delete()
        for norm in norms:
            norm.table = table
            _save(actor, norm)
    return table


def new_version(actor, table: NormTable, group=None) -> NormTable:
    """The next version of a norms table with a copy of its norms, kept by `group`: a district
    changes its norms without changing them under the rounds that used the earlier version."""
    latest = NormTable.objects.filter(code=table.code).order_by("-version").first()
    copy = NormTable(
        code=table.code,
        version=(latest.version if latest else table.version) + 1,
        title=table.title,
        jurisdiction=table.jurisdiction,
        source=table.source,
        effective=table.effective,
        status=table.status,
        group=group,
    )
    norms = [
        Norm(
            service_type=n.service_type,
            variable=n.variable,
            categories=list(n.categories or []),
            places=n.places,
            per=n.per,
            note=n.note,
        )
        for n in table.norms.select_related("variable__breakdown")
    ]
    return save_norm_table(actor, copy, norms)


def check_norm(norm: Norm) -> None:
    if norm.places is None or norm.places < 0:
        raise PlanningError(_("A norm's places cannot be negative."), "places")
    if norm.per is None or norm.per <= 0:
        raise PlanningError(_("A norm is places per a number of people above zero."), "per")
    breakdown = norm.variable.breakdown
    allowed = set(breakdown.categories.values_list("code", flat=True)) if breakdown else set()
    unknown = [c for c in norm.categories or [] if c not in allowed]
    if unknown and not allowed:
        raise PlanningError(
            _("%(variable)s has no categories: leave the categories empty for its total.")
            % {"variable": norm.variable.code},
            "categories",
        )
    if unknown and breakdown is not None:
        ordered = breakdown.categories.order_by("order", "code").values_list("code", flat=True)
        raise PlanningError(
            _("%(variable)s has no category %(codes)s; its categories are %(known)s.")
            % {"variable": norm.variable.code, "codes": ", ".join(unknown), "known": ", ".join(ordered)},
            "categories",
        )


def save_norm(actor, norm: Norm) -> Norm:
    check_norm(norm)
    with transaction.atomic():
        return _save(actor, norm)


# -- supply ------------------------------------------------------------------------------------


def _check_point(lon, lat, field="lon"):
    if (lon is None) != (lat is None):
        raise PlanningError(_("Give both the longitude and the latitude, or neither."), field)
    if lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise PlanningError(_("The longitude and latitude are outside the Earth."), field)


def save_settlement(actor, settlement: Settlement, via="web") -> Settlement:
    _check_point(settlement.lon, settlement.lat)
    if settlement.population is None or settlement.population < 0:
        raise PlanningError(_("The population cannot be negative."), "population")
    if not settlement.code.strip() or not settlement.name.strip():
        raise PlanningError(_("Give the settlement's code and name."), "code")
    with transaction.atomic():
        existing = Settlement.objects.filter(unit=settlement.unit, code=settlement.code).first()
        if existing and not settlement.pk:
            settlement.pk = existing.pk
        return _save(actor, settlement, via)


def check_service(service: Service) -> None:
    _check_point(service.lon, service.lat)
    for name in ("capacity", "users", "waiting", "staff"):
        value = getattr(service, name)
        if value is not None and value < 0:
            raise PlanningError(_("A capacity, a number of users, a waiting list or staff cannot be negative."), name)
    if service.capacity is None:
        raise PlanningError(_("Give the capacity in places."), "capacity")
    if service.funding not in Service.Funding.values:
        raise PlanningError(_("Unknown funding source: %(value)s") % {"value": service.funding}, "funding")
    if not (service.name or "").strip():
        raise PlanningError(_("Name the service."), "name")
    if not 1900 <= (service.year or 0) <= 2200:
        raise PlanningError(_("The year is not a year."), "year")


def save_provider(actor, provider: Provider, via="web") -> Provider:
    if provider.kind not in Provider.Kind.values:
        raise PlanningError(_("Unknown kind of provider: %(kind)s") % {"kind": provider.kind}, "kind")
    if not provider.name.strip():
        raise PlanningError(_("Name the provider."), "name")
    with transaction.atomic():
        existing = Provider.objects.filter(unit=provider.unit, name=provider.name).first()
        if existing and not provider.pk:
            provider.pk = existing.pk
        return _save(actor, provider, via)


def save_service(actor, service: Service, settlements=None, via="web") -> Service:
    check_service(service)
    if settlements is not None:
        foreign = [s for s in settlements if s.unit_id != service.provider.unit_id]
        if foreign and not service.service_type.level == ServiceType.Level.DISTRICT:
            # A municipal service may serve other municipalities' settlements only by an
            # agreement; the planner records those as a shared service of the round instead.
            raise PlanningError(
                _("%(settlement)s is not in %(unit)s; a service shared by municipalities is planned in the round.")
                % {"settlement": foreign[0].name, "unit": service.provider.unit.label},
                "settlements",
            )
    with transaction.atomic():
        existing = Service.objects.filter(
            provider=service.provider, service_type=service.service_type, name=service.name, year=service.year
        ).first()
        if existing and not service.pk:
            service.pk = existing.pk
        _save(actor, service, via)
        if settlements is not None:
            service.settlements.set(settlements)
    return service


def delete_service(actor, service: Service) -> None:
    with transaction.atomic():
        record("delete", service, actor=actor, before=snapshot(service), after=None, via="web")
        service.delete()


# -- the supply file ---------------------------------------------------------------------------

SETTLEMENT_COLUMNS = ["unit", "code", "name", "lon", "lat", "population"]
SERVICE_COLUMNS = [
    "unit",
    "provider",
    "provider_kind",
    "licence",
    "service_type",
    "service",
    "year",
    "lon",
    "lat",
    "capacity",
    "users",
    "waiting",
    "staff",
    "funding",
    "settlements",
]


def _sheets(data: bytes, name: str) -> dict[str, list[list]]:
    import csv
    import io

    from municipium.lib.tabular import ProblemReport, decode, open_workbook, sniff_delimiter

    if len(data) > FILE_LIMIT:
        raise PlanningError(_("The file is larger than 5 MB."), "file")
    lower = name.lower()
    if lower.endswith((".xlsx", ".xls", ".ods")):
        report = ProblemReport(name)
        book = open_workbook(data, name, "xlsx", report)
        if book is None:
            raise PlanningError(str(report.problems[0]), "file")
        out = {}
        for sheet in book.sheet_names:
            out[sheet.strip().lower()] = book.get_sheet_by_name(sheet).to_python(skip_empty_area=True)
        return out
    if lower.endswith(".csv"):
        text, _encoding = decode(data)
        return {"services": list(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)))}
    raise PlanningError(_("%(name)s is neither an Excel workbook nor a CSV file.") % {"name": name}, "file")


def _rows(sheet: str, rows: list[list], columns: list[str], problems: list[str]):
    if not rows:
        problems.append(_("sheet %(sheet)s: it is empty") % {"sheet": sheet})
        return
    header = [str(h).strip().lower() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        problems.append(
            _("sheet %(sheet)s: the columns %(columns)s are missing") % {"sheet": sheet, "columns": ", ".join(missing)}
        )
        return
    for number, raw in enumerate(rows[1:], start=2):
        row = {k: _cell(v) for k, v in zip(header, raw, strict=False)}
        if any(row.values()):
            yield number, row


def _cell(value) -> str:
    """A cell as text: spreadsheets hand whole numbers over as floats (2022.0, -1.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(row, column, where, problems, *, required=True, integer=False):
    text = row.get(column, "").replace(",", ".").replace(" ", "")
    if text == "":
        if required:
            problems.append(_("%(where)s, column %(column)s: a number is needed") % {"where": where, "column": column})
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(
            _("%(where)s, column %(column)s: %(value)s is not a number")
            % {"where": where, "column": column, "value": row[column][:40]}
        )
        return None
    if value < 0 or value != value or value in (float("inf"), float("-inf")):
        problems.append(
            _("%(where)s, column %(column)s: %(value)s is below zero")
            % {"where": where, "column": column, "value": text}
        )
        return None
    return int(value) if integer else value


def read_supply(data: bytes, name: str, units) -> tuple[list[Settlement], list[tuple]]:
    """The settlements and services of a supply file (the Excel template: sheets
    "settlements" and "services"; or a CSV with the services' columns), every problem located
    by sheet, row and column; nothing is saved until all are right."""
    sheets = _sheets(data, name)
    if "services" not in sheets:
        raise PlanningError(_("The workbook has no sheet named services."), "file")
    by_code = {u.code: u for u in units}
    types = {t.code: t for t in ServiceType.objects.all()}
    problems: list[str] = []
    settlements: list[Settlement] = []
    known: dict[tuple[str, str], Settlement] = {
        (s.unit.code, s.code): s for s in Settlement.objects.filter(unit__in=units).select_related("unit")
    }
    for number, row in _rows(
        "settlements", sheets.get("settlements", [["unit", *SETTLEMENT_COLUMNS[1:]]]), SETTLEMENT_COLUMNS, problems
    ):
        where = _("sheet %(sheet)s, row %(row)s") % {"sheet": "settlements", "row": number}
        unit = by_code.get(row["unit"])
        if unit is None:
            problems.append(
                _("%(where)s, column unit: %(code)s is not a municipality you may enter")
                % {"where": where, "code": row["unit"][:40]}
            )
            continue
        lon, lat = _number(row, "lon", where, problems), _number(row, "lat", where, problems)
        population = _number(row, "population", where, problems)
        if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append(_("%(where)s, column lon: the point is outside the Earth") % {"where": where})
            continue
        if not row["code"] or not row["name"]:
            problems.append(_("%(where)s, column code: give the settlement's code and name") % {"where": where})
            continue
        if None in (lon, lat, population):
            continue
        settlement = Settlement(unit=unit, code=row["code"], name=row["name"], lon=lon, lat=lat, population=population)
        settlements.append(settlement)
        known[(unit.code, settlement.code)] = settlement
    services: list[tuple] = []
    for number, row in _rows("services", sheets["services"], SERVICE_COLUMNS, problems):
        where = _("sheet %(sheet)s, row %(row)s") % {"sheet": "services", "row": number}
        unit = by_code.get(row["unit"])
        if unit is None:
            problems.append(
                _("%(where)s, column unit: %(code)s is not a municipality you may enter")
                % {"where": where, "code": row["unit"][:40]}
            )
            continue
        service_type = types.get(row["service_type"])
        if service_type is None:
            problems.append(
                _("%(where)s, column service_type: %(code)s is not a service type")
                % {"where": where, "code": row["service_type"][:40]}
            )
        choices = {
            "provider_kind": Provider.Kind.values,
            "funding": Service.Funding.values,
        }
        for column, allowed in choices.items():
            if row[column] not in allowed:
                problems.append(
                    _("%(where)s, column %(column)s: %(value)s is not one of %(allowed)s")
                    % {"where": where, "column": column, "value": row[column][:40], "allowed": ", ".join(allowed)}
                )
        figures = {
            "year": _number(row, "year", where, problems, integer=True),
            "capacity": _number(row, "capacity", where, problems),
            "users": _number(row, "users", where, problems, required=False),
            "waiting": _number(row, "waiting", where, problems, required=False) or 0.0,
            "staff": _number(row, "staff", where, problems, required=False),
            "lon": _number(row, "lon", where, problems, required=False),
            "lat": _number(row, "lat", where, problems, required=False),
        }
        served = []
        for code in [c.strip() for c in row["settlements"].replace(",", ";").split(";") if c.strip()]:
            if (unit.code, code) not in known:
                problems.append(
                    _("%(where)s, column settlements: %(code)s is not a settlement of %(unit)s")
                    % {"where": where, "code": code[:40], "unit": unit.code}
                )
            else:
                served.append((unit.code, code))
        if not row["provider"] or not row["service"]:
            problems.append(_("%(where)s, column provider: name the provider and the service") % {"where": where})
            continue
        if service_type is None or figures["year"] is None or figures["capacity"] is None:
            continue
        provider = Provider(unit=unit, name=row["provider"], kind=row["provider_kind"], licence=row["licence"])
        service = Service(service_type=service_type, name=row["service"], funding=row["funding"], **figures)
        try:
            _check_point(service.lon, service.lat)
            if not 1900 <= service.year <= 2200:
                raise PlanningError(_("The year is not a year."), "year")
        except PlanningError as error:
            problems.append(
                _("%(where)s, column %(column)s: %(problem)s")
                % {"where": where, "column": error.field, "problem": error.message}
            )
            continue
        services.append((number, provider, service, served))
    if problems:
        shown = "; ".join(problems[:20])
        more = len(problems) - 20
        if more > 0:
            shown += " " + ngettext("(and %(count)s more problem)", "(and %(count)s more problems)", more) % {
                "count": format_number(more, 0)
            }
        raise PlanningError(shown, "file")
    return settlements, services


def import_supply(actor, data: bytes, name: str, units) -> tuple[int, int]:
    """Load a supply file all or nothing. Returns (settlements, services)."""
    settlements, services = read_supply(data, name, units)
    with transaction.atomic():
        saved = {}
        for item in settlements:
            settlement = save_settlement(actor, item, via="import")
            saved[(settlement.unit.code, settlement.code)] = settlement
        for number, provider, service, served in services:
            try:
                provider = save_provider(actor, provider, via="import")
                service.provider = provider
                places = [saved.get(key) or Settlement.objects.get(unit__code=key[0], code=key[1]) for key in served]
                save_service(actor, service, places, via="import")
            except PlanningError as error:
                raise PlanningError(
                    _("sheet %(sheet)s, row %(row)s: %(problem)s")
                    % {"sheet": "services", "row": number, "problem": error.message},
                    "file",
                ) from error
    return len(settlements), len(services)


def read_matrix(data: bytes, name: str, settlements, services) -> dict[tuple[int, int], float]:
    """A travel-time matrix: CSV or workbook with columns settlement, service, minutes and,
    where settlement codes repeat across municipalities, unit. A service is named by its
    number or its name. Returns minutes by (settlement id, service id); every problem is
    located by row and column, and nothing is kept unless all rows are right."""
    sheets = _sheets(data, name)
    rows = next(iter(sheets.values())) if sheets else []
    problems: list[str] = []
    by_code: dict[str, list] = {}
    for settlement in settlements:
        by_code.setdefault(settlement.code, []).append(settlement)
    by_id = {str(v.pk): v for v in services}
    by_name: dict[str, list] = {}
    for service in services:
        by_name.setdefault(service.name.strip().lower(), []).append(service)
    out: dict[tuple[int, int], float] = {}
    where_seen: dict[tuple[int, int], int] = {}
    for number, row in _rows("matrix", rows, ["settlement", "service", "minutes"], problems):
        where = _("sheet %(sheet)s, row %(row)s") % {"sheet": "matrix", "row": number}
        found = by_code.get(row["settlement"], [])
        if row.get("unit"):
            found = [s for s in found if s.unit.code == row["unit"]]
        if not found:
            problems.append(
                _("%(where)s, column settlement: %(code)s is not a settlement of the district")
                % {"where": where, "code": row["settlement"][:40]}
            )
            continue
        if len(found) > 1:
            problems.append(
                _("%(where)s, column unit: settlement %(code)s is in several municipalities; name its municipality")
                % {"where": where, "code": row["settlement"][:40]}
            )
            continue
        text = row["service"]
        points = [by_id[text]] if text in by_id else by_name.get(text.strip().lower(), [])
        if len(points) != 1:
            problems.append(
                (
                    _("%(where)s, column service: %(code)s is not a service point of this type")
                    if not points
                    else _("%(where)s, column service: several service points are called %(code)s; give its number")
                )
                % {"where": where, "code": text[:40]}
            )
            continue
        minutes = _number(row, "minutes", where, problems)
        if minutes is None:
            continue
        key = (found[0].pk, points[0].pk)
        if key in where_seen:
            problems.append(
                _("%(where)s: the same settlement and service point as row %(row)s")
                % {"where": where, "row": where_seen[key]}
            )
            continue
        where_seen[key] = number
        out[key] = minutes
    if problems:
        shown = "; ".join(problems[:20])
        more = len(problems) - 20
        if more > 0:
            shown += " " + ngettext("(and %(count)s more problem)", "(and %(count)s more problems)", more) % {
                "count": format_number(more, 0)
            }
        raise PlanningError(shown, "matrix")
    if not out:
        raise PlanningError(_("The matrix has no travel times."), "matrix")
    return out


def save_matrix(actor, round_: Round, service_type: ServiceType, data: bytes, name: str):
    """Store a round's travel-time matrix for a service type, replacing the one before; the
    accessibility of that type is then computed on its minutes."""
    from .models import TravelMatrix, TravelTime
    from .planning import members

    units = members(round_)
    settlements = list(Settlement.objects.filter(unit__in=units).select_related("unit"))
    points = list(
        Service.objects.filter(provider__unit__in=units, year=round_.year, service_type=service_type, lon__isnull=False)
    )
    times = read_matrix(data, name, settlements, points)
    with transaction.atomic():
        matrix = TravelMatrix.objects.filter(round=round_, service_type=service_type).first()
        before = snapshot(matrix) if matrix else None
        replaced = matrix.times.count() if matrix else 0
        if matrix is None:
            matrix = TravelMatrix(round=round_, service_type=service_type)
        matrix.file_name = name[:200]
        matrix.save()
        matrix.times.all().delete()
        TravelTime.objects.bulk_create(
            TravelTime(matrix=matrix, settlement_id=s, service_id=v, minutes=m) for (s, v), m in times.items()
        )
        record(
            "update" if before else "create",
            matrix,
            actor=actor,
            before=before,
            after=snapshot(matrix),
            via="import",
            note=f"{len(times)} travel times" + (f", replacing {replaced}" if before else ""),
        )
    return matrix


def delete_matrix(actor, matrix) -> None:
    with transaction.atomic():
        record(
            "delete",
            matrix,
            actor=actor,
            before=snapshot(matrix),
            after=None,
            via="web",
            note=f"{matrix.times.count()} travel times",
        )
        matrix.delete()


# -- the planning round ------------------------------------------------------------------------


def check_assumptions(item: Round) -> None:
    """The cohort-component projection's assumptions, stated in full for every age band of
    the round's norms: a survival ratio between 0 and 1, optional net migration above −1,
    births per person of the mothers' bands not negative."""
    from municipium.lib.socialneed.projection import ProjectionError, band_widths, split_age_sex

    if item.projection != Round.Projection.COHORT:
        return
    a = item.assumptions if isinstance(item.assumptions, dict) else None
    if a is None or not isinstance(a.get("survival"), dict):
        raise PlanningError(_("State the survival ratio of every age band (survival)."), "assumptions")
    variables = {n.variable for n in item.norms.norms.select_related("variable__breakdown")} if item.norms_id else set()
    for variable in variables:
        if variable.breakdown is None:
            continue
        bands = list(variable.breakdown.categories.order_by("order", "code").values_list("code", flat=True))
        by_sex = split_age_sex(bands)
        keys = [(band, band) for band in bands]
        if by_sex is not None:
            # By age band and sex: an assumption may be stated for a band and sex ("80+ F") or
            # for the band alone, which then holds for both sexes.
            bands = by_sex[0]
            keys = [(f"{band} {sex}", band) for band in bands for sex in by_sex[1]]
            _check_births_by_sex(a, by_sex[1])
        try:
            band_widths(bands)
        except ProjectionError as error:
            raise PlanningError(str(error), "projection") from error
        for key, band in keys:
            value = a["survival"].get(key, a["survival"].get(band))
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise PlanningError(
                    _("The survival ratio of %(band)s must be a number between 0 and 1.") % {"band": key},
                    "assumptions",
                )
            given = a.get("migration") or {}
            migration = given.get(key, given.get(band, 0))
            if not isinstance(migration, int | float) or migration <= -1:
                raise PlanningError(
                    _("The net migration rate of %(band)s must be a number above -1.") % {"band": band},
                    "assumptions",
                )
        mothers = a.get("mothers", [])
        if not isinstance(mothers, list) or any(m not in bands for m in mothers):
            raise PlanningError(_("The mothers' bands must be age bands of the population."), "assumptions")
    births = a.get("births_per_person", 0)
    if not isinstance(births, int | float) or births < 0:
        raise PlanningError(_("Births per person cannot be negative."), "assumptions")


def _check_births_by_sex(a: dict, sexes: list[str]) -> None:
    """Births of a population by sex come from the mothers' sex and are split between the
    sexes by shares the round states (no default is assumed when there are births)."""
    mothers_sex = a.get("mothers_sex", sexes[0])
    if mothers_sex not in sexes:
        raise PlanningError(
            _("The mothers' sex must be one of %(sexes)s.") % {"sexes": ", ".join(sexes)},
            "assumptions",
        )
    births = a.get("births_per_person", 0)
    if not isinstance(births, int | float) or births == 0:
        return
    shares = a.get("birth_shares")
    if (
        not isinstance(shares, dict)
        or set(shares) != set(sexes)
        or any(not isinstance(v, int | float) or not 0 <= v <= 1 for v in shares.values())
        or abs(sum(shares.values()) - 1) > 1e-6
    ):
        raise PlanningError(
            _(
                "State the shares of births by sex (birth_shares), one for each of %(sexes)s, adding up to 1, "
                'e.g. {"M": 0.512, "F": 0.488} for 105 boys to 100 girls.'
            )
            % {"sexes": ", ".join(sexes)},
            "assumptions",
        )


def save_round(actor, item: Round) -> Round:
    if item.assumptions is None:
        item.assumptions = {}
    check_assumptions(item)
    if item.horizon is not None and item.year is not None and item.horizon < item.year:
        raise PlanningError(_("The planning year cannot come before the year of the figures."), "horizon")
    if item.agency_deadline and item.opens and item.agency_deadline < item.opens:
        raise PlanningError(_("The agency's deadline cannot come before the round opens."), "agency_deadline")
    if item.agreement_deadline and item.agency_deadline and item.agreement_deadline > item.agency_deadline:
        raise PlanningError(_("Draft agreements are due before the proposals go to the agency."), "agreement_deadline")
    with transaction.atomic():
        return _save(actor, item)


def proposal_for(actor, round_: Round, unit) -> Proposal:
    proposal = Proposal.objects.filter(round=round_, unit=unit).first()
    if proposal is None:
        with transaction.atomic():
            proposal = _save(actor, Proposal(round=round_, unit=unit))
    return proposal


def _check_open(proposal: Proposal) -> None:
    if proposal.sent_on:
        raise PlanningError(_("The proposal has been sent to the agency and can no longer change."), "places")
    if proposal.consultation is not None and proposal.consultation.council_date:
        raise PlanningError(_("The council has approved the proposal; it can no longer change."), "places")


def save_line(actor, line: ProposalLine) -> ProposalLine:
    _check_open(line.proposal)
    if line.places is None or line.places < 0:
        raise PlanningError(_("The places cannot be negative."), "places")
    if line.funding not in Service.Funding.values:
        raise PlanningError(_("Unknown funding source: %(value)s") % {"value": line.funding}, "funding")
    with transaction.atomic():
        existing = ProposalLine.objects.filter(
            proposal=line.proposal, service_type=line.service_type, funding=line.funding
        ).first()
        if existing and not line.pk:
            line.pk = existing.pk
        return _save(actor, line)


def open_consultation(actor, proposal: Proposal, opens: dt.date, summary: str = ""):
    """The public consultation of a municipality's proposal, in the meetings app, open for the
    round's 30 days."""
    from municipium.meetings.models import Consultation
    from municipium.meetings.services import MeetingError, save_consultation

    if proposal.consultation_id:
        raise PlanningError(_("The proposal is already under consultation."), "opens")
    if not proposal.lines.exists():
        raise PlanningError(_("A proposal goes to consultation once it plans at least one service."), "opens")
    if opens > proposal.round.agency_deadline:
        raise PlanningError(_("The consultation would open after the agency's deadline."), "opens")
    consultation = Consultation(
        unit=proposal.unit,
        code=f"social-{proposal.round.code}-{proposal.unit.code}".lower()[:64],
        title=(
            _("Social services proposal %(year)s: %(unit)s")
            % {"year": proposal.round.horizon, "unit": proposal.unit.label}
        )[:200],
        summary=summary or _("The municipality's proposal of social services for the planning round."),
        opens=opens,
        closes=opens + dt.timedelta(days=CONSULTATION_DAYS - 1),
        council_deadline=proposal.round.agency_deadline,
        published=True,
    )
    try:
        with transaction.atomic():
            save_consultation(actor, consultation)
            proposal.consultation = consultation
            _save(actor, proposal, note="consultation opened")
    except MeetingError as error:
        raise PlanningError(error.message, "opens") from error
    return consultation


CONSULTATION_DAYS = 30


def mark_sent(actor, proposal: Proposal, day: dt.date) -> Proposal:
    """Sent to the agency: only once the council has approved it after the consultation."""
    consultation = proposal.consultation
    if consultation is None or not consultation.council_date:
        raise PlanningError(_("A proposal goes to the agency once the council has approved it."), "sent_on")
    if consultation.council_date and day < consultation.council_date:
        raise PlanningError(_("The proposal cannot be sent before the council approved it."), "sent_on")
    if proposal.sent_on:
        raise PlanningError(_("The proposal has been sent already."), "sent_on")
    proposal.sent_on = day
    with transaction.atomic():
        return _save(actor, proposal, note="sent to the agency")


def add_shared(actor, round_: Round, service_type: ServiceType, host, places: int, parties, title: str = ""):
    """A service delivered across municipalities, recorded as a draft cooperation agreement
    whose parties are the municipalities it serves (their council decisions are recorded on
    the agreement's parties, in the cooperation app)."""
    from municipium.cooperation.models import Agreement, Party
    from municipium.cooperation.services import CooperationError, save_agreement, save_party

    from .models import SharedService
    from .planning import members

    parties = list(parties)
    codes = {u.code for u in members(round_)}
    if host not in parties:
        parties.insert(0, host)
    if len(parties) < 2:
        raise PlanningError(_("A shared service has at least two municipalities."), "parties")
    outside = [u.label for u in parties if u.code not in codes]
    if outside:
        raise PlanningError(_("%(units)s are not members of the district.") % {"units": ", ".join(outside)}, "parties")
    if places is None or places < 1:
        raise PlanningError(_("A shared service has at least one place."), "places")
    code = f"social-{round_.code}-{service_type.code}-{host.code}".lower()[:64]
    if Agreement.objects.filter(code=code).exists():
        raise PlanningError(_("This service is already shared from this host in the round."), "service_type")
    try:
        with transaction.atomic():
            agreement = save_agreement(
                actor,
                Agreement(
                    code=code,
                    title=(
                        title
                        or _("%(service)s shared by municipalities, hosted by %(host)s")
                        % {"service": service_type.label, "host": host.label}
                    )[:300],
                    kind=Agreement.Kind.AGREEMENT,
                    subject=_("Places of %(service)s in proportion to need, planning round %(round)s.")
                    % {"service": service_type.label, "round": round_.title},
                    review=round_.agreement_deadline,
                ),
            )
            for unit in parties:
                save_party(actor, Party(agreement=agreement, unit=unit))
            shared = _save(
                actor,
                SharedService(round=round_, service_type=service_type, host=host, places=places, agreement=agreement),
            )
    except CooperationError as error:
        raise PlanningError(error.message, error.field) from error
    return shared


def set_quotas(actor, shared, quotas: dict[str, int]) -> object:
    """Places agreed otherwise than by need: every party gets a whole number, and they add
    up to the service's places. An empty dict goes back to proportional to need."""
    codes = set(shared.agreement.parties.values_list("unit__code", flat=True))
    if quotas:
        if set(quotas) != codes:
            raise PlanningError(_("Give the places of every party, and of no one else."), "quotas")
        if any(not isinstance(v, int) or v < 0 for v in quotas.values()):
            raise PlanningError(_("Quotas are whole numbers of places, not negative."), "quotas")
        if sum(quotas.values()) != shared.places:
            raise PlanningError(
                _("The quotas add up to %(sum)s, not to the service's %(places)s places.")
                % {"sum": format_number(sum(quotas.values()), 0), "places": format_number(shared.places, 0)},
                "quotas",
            )
    shared.quotas = dict(quotas)
    with transaction.atomic():
        return _save(actor, shared)


# -- deadline reminders (the daily job) --------------------------------------------------------

REMIND_DAYS_BEFORE = 7
# A late proposal is reminded of once, within this many days after the agency's deadline: a
# first daily run on an installation with old rounds sends nothing about them.
LATE_WINDOW_DAYS = 30


def _addresses(unit, group=None) -> list[str]:
    from django.db.models import Q

    from municipium.accounts.models import Role

    scope = Q(unit=unit, kind__in=[Role.Kind.OFFICER, Role.Kind.APPROVER])
    if group is not None:
        scope |= Q(group=group, kind=Role.Kind.COORDINATOR)
    return sorted(set(Role.objects.filter(scope).exclude(user__email="").values_list("user__email", flat=True)))


def send_deadline_reminders(today: dt.date | None = None, days_before: int = REMIND_DAYS_BEFORE) -> tuple[int, int]:
    """Daily: remind each municipality of a round whose proposal is not yet at the agency,
    `days_before` days before the agency's deadline and once after it (its officers and
    approvers; the late one also the district's coordinators); and the parties of a shared
    service whose agreement is still a draft, `days_before` days before the agreements are
    due. Each once per round, municipality, step and deadline, however many servers run the
    job (`lib.reminders.send_once`). Returns (sent, failed)."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils import timezone

    from municipium.cooperation.models import Agreement
    from municipium.lib.reminders import send_once

    from .models import Reminder, SharedService
    from .planning import members

    today = today or timezone.localdate()
    soon = dt.timedelta(days=days_before)
    sent = failed = 0

    def once(round_, unit, step, deadline, addresses, subject, body) -> None:
        nonlocal sent, failed
        if not addresses:
            return
        row, _created = Reminder.objects.get_or_create(round=round_, unit=unit, step=step, deadline=deadline)
        if row.sent is not None:
            return

        def send() -> int:
            send_mail(subject(), body(), None, addresses)
            record("remind", row, actor=None, via="command", note=step)
            return 1

        done, fail = send_once(
            Reminder.objects.filter(pk=row.pk), "sent", send, f"social planning reminder {step} for {unit.code}"
        )
        sent, failed = sent + done, failed + fail

    rounds = Round.objects.filter(
        agency_deadline__gte=today - dt.timedelta(days=LATE_WINDOW_DAYS), opens__lte=today + soon
    ).select_related("group")
    for round_ in rounds.order_by("pk"):
        deadline = round_.agency_deadline
        if deadline - soon <= today <= deadline:
            step = Reminder.Step.AGENCY_SOON
        elif today > deadline:
            step = Reminder.Step.AGENCY_LATE
        else:
            step = None
        if step is not None:
            done = set(round_.proposals.filter(sent_on__isnull=False).values_list("unit_id", flat=True))
            for unit in members(round_):
                if unit.pk in done:
                    continue
                path = reverse("socialplanning:proposal", args=[round_.code, unit.code])
                late = step == Reminder.Step.AGENCY_LATE
                once(
                    round_,
                    unit,
                    step,
                    deadline,
                    _addresses(unit, round_.group if late else None),
                    lambda round_=round_, unit=unit, late=late: (
                        (
                            _("Late: social services proposal of %(unit)s")
                            if late
                            else _("Social services proposal due: %(unit)s")
                        )
                        % {"unit": unit.label}
                    ),
                    lambda round_=round_, unit=unit, late=late, path=path: (
                        (
                            _(
                                "The proposal of %(unit)s in the planning round %(round)s was due at the agency on "
                                "%(date)s and has not been sent. Record where it stands:\n\n%(url)s"
                            )
                            if late
                            else _(
                                "The proposal of %(unit)s in the planning round %(round)s is due at the agency on "
                                "%(date)s, after its public consultation and the council's decision. Its page:\n\n%(url)s"
                            )
                        )
                        % {
                            "unit": unit.label,
                            "round": round_.title,
                            "date": round_.agency_deadline.isoformat(),
                            "url": settings.SITE_URL.rstrip("/") + path,
                        }
                    ),
                )
        due = round_.agreement_deadline
        if not due - soon <= today <= due:
            continue
        drafts: dict[int, list] = {}
        shared = SharedService.objects.filter(round=round_, agreement__status=Agreement.Status.DRAFT)
        for item in shared.select_related("agreement", "service_type").order_by("pk"):
            for party in item.agreement.parties.select_related("unit"):
                drafts.setdefault(party.unit.pk, [party.unit]).append(item)
        for unit, *items in drafts.values():
            once(
                round_,
                unit,
                Reminder.Step.AGREEMENTS_SOON,
                due,
                _addresses(unit),
                lambda round_=round_: _("Draft agreements due: %(round)s") % {"round": round_.title},
                lambda round_=round_, unit=unit, items=items: (
                    _(
                        "The draft agreements on services shared by municipalities in the planning round %(round)s "
                        "are due on %(date)s. %(unit)s is a party to:\n\n%(agreements)s\n\nRecord the council's "
                        "decision on each agreement's page."
                    )
                    % {
                        "round": round_.title,
                        "date": round_.agreement_deadline.isoformat(),
                        "unit": unit.label,
                        "agreements": "\n".join(f"- {i.agreement.title}" for i in items),
                    }
                ),
            )
    return sent, failed
