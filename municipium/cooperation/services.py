"""Every change to agreements, obligations, documents and facilities: checked, in one
transaction, audited. A refusal is a `CooperationError` naming the field."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from municipium.audit.models import record, snapshot

from .models import Agreement, Document, Facility, Obligation, Participant, Party, Scenario

# The lifecycle of an agreement: which status may follow which.
NEXT = {
    Agreement.Status.DRAFT: {Agreement.Status.NEGOTIATION, Agreement.Status.SIGNED},
    Agreement.Status.NEGOTIATION: {Agreement.Status.DRAFT, Agreement.Status.SIGNED},
    Agreement.Status.SIGNED: {Agreement.Status.IN_FORCE, Agreement.Status.TERMINATED},
    Agreement.Status.IN_FORCE: {Agreement.Status.EXPIRED, Agreement.Status.TERMINATED},
    Agreement.Status.EXPIRED: set(),
    Agreement.Status.TERMINATED: set(),
}


class CooperationError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _audit(action, instance, actor, before=None, note=""):
    after = snapshot(instance) if not isinstance(instance, Document) else {"name": instance.name, "size": instance.size}
    record(action, instance, actor=actor, before=before, after=after, via="web", note=note)


def save_agreement(actor, agreement: Agreement, service_areas=None, indicators=None) -> Agreement:
    if agreement.signed and agreement.expiry and agreement.expiry < agreement.signed:
        raise CooperationError(_("The agreement cannot expire before it was signed."), "expiry")
    if agreement.in_force and agreement.signed and agreement.in_force < agreement.signed:
        raise CooperationError(_("The agreement cannot be in force before it was signed."), "in_force")
    before = snapshot(Agreement.objects.get(pk=agreement.pk)) if agreement.pk else None
    if before and before["status"] != agreement.status:
        old = Agreement.Status(before["status"])
        if agreement.status not in NEXT[old]:
            raise CooperationError(
                _("An agreement that is %(old)s cannot become %(new)s.")
                % {"old": old.label, "new": Agreement.Status(agreement.status).label},
                "status",
            )
    if agreement.status in (Agreement.Status.SIGNED, Agreement.Status.IN_FORCE) and not agreement.signed:
        raise CooperationError(_("Give the date the agreement was signed."), "signed")
    if agreement.status == Agreement.Status.IN_FORCE and not agreement.in_force:
        raise CooperationError(_("Give the date the agreement came into force."), "in_force")
    with transaction.atomic():
        agreement.save()
        if service_areas is not None:
            agreement.service_areas.set(service_areas)
        if indicators is not None:
            agreement.indicators.set(indicators)
        _audit("update" if before else "create", agreement, actor, before)
    return agreement


def save_party(actor, party: Party) -> Party:
    if Party.objects.filter(agreement=party.agreement, unit=party.unit).exclude(pk=party.pk).exists():
        raise CooperationError(_("%(unit)s is a party already.") % {"unit": party.unit.label}, "unit")
    before = snapshot(Party.objects.get(pk=party.pk)) if party.pk else None
    with transaction.atomic():
        party.save()
        _audit("update" if before else "create", party, actor, before)
    return party


def save_obligation(actor, obligation: Obligation) -> Obligation:
    if obligation.party.agreement_id != obligation.agreement_id:
        raise CooperationError(_("The party is not a party to this agreement."), "party")
    if not (obligation.text or "").strip():
        raise CooperationError(_("Say what must be done."), "text")
    if obligation.due and obligation.agreement.signed and obligation.due < obligation.agreement.signed:
        raise CooperationError(_("An obligation cannot fall due before the agreement was signed."), "due")
    before = snapshot(Obligation.objects.get(pk=obligation.pk)) if obligation.pk else None
    with transaction.atomic():
        obligation.save()
        _audit("update" if before else "create", obligation, actor, before)
    return obligation


def report_obligation(actor, obligation: Obligation, status: str, evidence: str = "", today=None) -> Obligation:
    if status not in Obligation.Status.values:
        raise CooperationError(_("Unknown status: %(status)s") % {"status": status}, "status")
    if status == Obligation.Status.DONE and not (evidence or obligation.evidence).strip():
        raise CooperationError(_("Say what shows it is done (a decision, a report, a link)."), "evidence")
    before = snapshot(obligation)
    obligation.status = status
    obligation.evidence = evidence or obligation.evidence
    obligation.done_on = (today or timezone.localdate()) if status == Obligation.Status.DONE else None
    with transaction.atomic():
        obligation.save()
        _audit("update", obligation, actor, before)
    return obligation


def attach(actor, agreement: Agreement, data: bytes, name: str) -> Document:
    from municipium.meetings.services import MeetingError, check_document

    try:
        content_type, name = check_document(data, name, spreadsheets=True)
    except MeetingError as error:
        raise CooperationError(error.message, "document") from error
    with transaction.atomic():
        document = Document.objects.create(
            agreement=agreement,
            name=name[:200],
            content_type=content_type,
            data=data,
            size=len(data),
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _audit("create", document, actor)
    return document


def check_figures(item) -> None:
    """The rule for a facility's figures, and for a scenario's (where an empty figure keeps
    the facility's own): costs not negative, a rate as a fraction, a plausible exponent."""
    for field in ("capital_cost", "fixed_opex", "variable_opex", "scale_fixed", "scale_unit"):
        value = getattr(item, field, None)
        if isinstance(item, Facility) and value is None:
            raise CooperationError(_("A cost cannot be negative."), field)
        if value is not None and value < 0:
            raise CooperationError(_("A cost cannot be negative."), field)
    if item.interest_rate is not None and not (0 <= item.interest_rate < 1):
        raise CooperationError(_("Write the interest rate as a fraction, e.g. 0.04 for 4 %."), "interest_rate")
    if item.scale_exponent is not None and not (0 < item.scale_exponent <= 1.5):
        raise CooperationError(
            _("The economies of scale exponent lies between 0 and 1.5 (0.6–0.8 is usual)."), "scale_exponent"
        )
    if item.lifetime is not None and item.lifetime < 1:
        raise CooperationError(_("The lifetime is at least one year."), "lifetime")


def save_facility(actor, facility: Facility) -> Facility:
    check_figures(facility)
    before = snapshot(Facility.objects.get(pk=facility.pk)) if facility.pk else None
    with transaction.atomic():
        facility.save()
        _audit("update" if before else "create", facility, actor, before)
    return facility


def save_scenario(actor, scenario: Scenario) -> Scenario:
    """Add or change a what-if on a facility's figures; audited like the facility itself."""
    if not scenario.name.strip():
        raise CooperationError(_("Give the scenario a name."), "name")
    clash = Scenario.objects.filter(facility_id=scenario.facility_id, name=scenario.name.strip())
    if clash.exclude(pk=scenario.pk).exists():
        raise CooperationError(_("The facility already has a scenario of this name."), "name")
    if not scenario.changes():
        raise CooperationError(_("A scenario changes at least one figure of the facility."), "capital_cost")
    check_figures(scenario)
    scenario.name = scenario.name.strip()
    before = snapshot(Scenario.objects.get(pk=scenario.pk)) if scenario.pk else None
    with transaction.atomic():
        scenario.save()
        _audit("update" if before else "create", scenario, actor, before)
    return scenario


def delete_scenario(actor, scenario: Scenario) -> None:
    before = snapshot(scenario)
    with transaction.atomic():
        record("delete", scenario, actor=actor, before=before, after=None, via="web")
        scenario.delete()


def save_participant(actor, participant: Participant) -> Participant:
    for label, values in (("drivers", participant.drivers), ("actual", participant.actual)):
        for key, value in (values or {}).items():
            if value in (None, ""):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise CooperationError(
                    _("%(driver)s is not a number: %(value)s") % {"driver": key, "value": value}, label
                ) from None
            if number < 0:
                raise CooperationError(_("%(driver)s cannot be negative.") % {"driver": key}, label)
            values[key] = number
    before = snapshot(Participant.objects.get(pk=participant.pk)) if participant.pk else None
    with transaction.atomic():
        participant.save()
        _audit("update" if before else "create", participant, actor, before)
    return participant


def send_overdue_reminders(today: dt.date | None = None) -> tuple[int, int]:
    """Daily: one e-mail per overdue obligation to those who answer for the party's data,
    once (`lib.reminders.send_once`). Returns (sent, failed)."""
    from django.core.mail import send_mail

    from municipium.accounts.models import Role
    from municipium.lib.reminders import send_once

    today = today or timezone.localdate()
    sent = failed = 0
    due = Obligation.objects.overdue(today).filter(overdue_reminded__isnull=True)
    for obligation in due.select_related("agreement", "party__unit").order_by("pk"):
        addresses = sorted(
            set(
                Role.objects.filter(unit=obligation.party.unit, kind__in=[Role.Kind.OFFICER, Role.Kind.APPROVER])
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        if not addresses:
            continue

        def send(obligation=obligation, addresses=addresses) -> int:
            subject = _("Overdue obligation: %(agreement)s") % {"agreement": obligation.agreement.title}
            body = _(
                "%(party)s was to do this by %(due)s:\n\n%(text)s\n\nReport it done, with the evidence, "
                "on the agreement's page."
            ) % {
                "party": obligation.party.unit.label,
                "due": obligation.due.isoformat() if obligation.due else "",
                "text": obligation.text,
            }
            send_mail(subject, body, None, addresses)
            record("remind", obligation, actor=None, via="command", note="overdue")
            return 1

        done, fail = send_once(
            Obligation.objects.filter(pk=obligation.pk),
            "overdue_reminded",
            send,
            f"overdue reminder for obligation {obligation.pk}",
        )
        sent, failed = sent + done, failed + fail
    return sent, failed


# -- protection zones -----------------------------------------------------------------------


def save_zone(actor, zone, *, geojson: dict | None = None, lon=None, lat=None, distance=None):
    """Draw a zone from an uploaded polygon, or a buffer of `distance` metres around an intake
    (lon, lat) or around an uploaded outline; replace the same source's zone of that level."""
    from shapely.geometry import Point

    from municipium.lib import zones as geo

    from .models import Zone

    try:
        if geojson is not None:
            source = geo.read_geometry(geojson)
            shape = geo.buffered(source, float(distance)) if distance else geo.zone_polygon(source)
        elif lon is not None and lat is not None:
            if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                raise geo.ZoneError(_("the intake's longitude and latitude are outside the Earth"))
            if not distance:
                raise geo.ZoneError(_("give the distance around the intake, in metres"))
            shape = geo.buffered(Point(float(lon), float(lat)), float(distance))
        else:
            raise geo.ZoneError(_("upload the zone's GeoJSON, or give the intake's position and a distance"))
    except geo.ZoneError as error:
        raise CooperationError(_("The zone cannot be drawn: %(reason)s") % {"reason": error}, "geometry") from error
    if not (zone.source or "").strip():
        raise CooperationError(_("Name the water source."), "source")
    zone.geometry = geo.to_geojson(shape)
    zone.distance = float(distance) if distance else None
    with transaction.atomic():
        existing = Zone.objects.filter(agreement=zone.agreement, source=zone.source, level=zone.level).first()
        if existing is not None:
            zone.pk = existing.pk
        zone.save()
        record(
            "update" if existing else "create",
            zone,
            actor=actor,
            via="web",
            after={
                "source": zone.source,
                "level": zone.level,
                "distance": zone.distance,
                "points": len(str(zone.geometry)),
            },
        )
    return zone


def zone_shares(agreement) -> list[dict]:
    """Each zone with the area and shares of it inside every party's boundary."""
    from shapely.geometry import shape

    from municipium.lib import zones as geo

    boundaries = {p.unit.code: p.unit.boundary for p in agreement.parties.select_related("unit")}
    labels = {p.unit.code: p.unit for p in agreement.parties.select_related("unit")}
    out = []
    for zone in agreement.zones.all():
        rows = geo.shares(shape(zone.geometry), boundaries)
        out.append(
            {
                "zone": zone,
                "shares": [(labels[r.code], r, r.share_of_zone * 100, r.share_of_unit * 100) for r in rows],
            }
        )
    return out


def zone_area_by_unit(agreement) -> dict[int, float]:
    """km² of each party inside the union of the agreement's zones: a cost driver."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    from municipium.lib import zones as geo

    geometries = [shape(z.geometry) for z in agreement.zones.all()]
    if not geometries:
        return {}
    union = unary_union(geometries)
    parties = {p.unit.code: p.unit for p in agreement.parties.select_related("unit")}
    return {parties[s.code].pk: s.area_km2 for s in geo.shares(union, {c: u.boundary for c, u in parties.items()})}


# -- inventory of resources and competences -----------------------------------------------------

INVENTORY_COLUMNS = ["unit", "actor", "category", "theme", "item", "measure", "have", "need"]


def save_line(actor, line) -> object:
    from municipium.places.models import Membership

    from .models import InventoryLine

    if line.category not in InventoryLine.Category.values:
        raise CooperationError(_("Unknown category: %(category)s") % {"category": line.category}, "category")
    if line.have is None or line.need is None or line.have < 0 or line.need < 0:
        raise CooperationError(_("What an actor has and needs cannot be negative."), "have")
    if not Membership.objects.filter(group=line.group, unit=line.unit).exists():
        raise CooperationError(_("%(unit)s is not a member of this cooperation.") % {"unit": line.unit.label}, "unit")
    for field, message in (
        ("actor", _("Name the actor.")),
        ("theme", _("Give the theme.")),
        ("item", _("Name the resource.")),
    ):
        if not (getattr(line, field) or "").strip():
            raise CooperationError(message, field)
    with transaction.atomic():
        existing = InventoryLine.objects.filter(
            group=line.group, unit=line.unit, actor=line.actor, category=line.category, item=line.item
        ).first()
        if existing is not None:
            line.pk = existing.pk
        line.save()
        _audit("update" if existing else "create", line, actor)
    return line


def read_inventory(data: bytes, name: str, group) -> list:
    """The lines of an inventory file (the Excel template or a CSV with the same columns),
    checked: every problem with its row and column, nothing saved until all are right."""
    import io

    from municipium.lib.tabular import ProblemReport, decode, open_workbook, sniff_delimiter
    from municipium.places.models import Unit

    from .models import InventoryLine

    if len(data) > 5 * 1024 * 1024:
        raise CooperationError(_("The file is larger than 5 MB."), "file")
    rows: list[list] = []
    if name.lower().endswith((".xlsx", ".xls", ".ods")):
        report = ProblemReport(name)
        book = open_workbook(data, name, "xlsx", report)
        if book is None:
            raise CooperationError(str(report.problems[0]), "file")
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=True)
    elif name.lower().endswith(".csv"):
        import csv

        text, _encoding = decode(data)
        rows = list(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)))
    else:
        raise CooperationError(_("%(name)s is neither an Excel workbook nor a CSV file.") % {"name": name}, "file")
    if not rows:
        raise CooperationError(_("The file is empty."), "file")
    header = [str(h).strip().lower() for h in rows[0]]
    missing = [c for c in INVENTORY_COLUMNS if c not in header]
    if missing:
        raise CooperationError(_("The file lacks the columns %(columns)s.") % {"columns": ", ".join(missing)}, "file")
    units = {u.code: u for u in Unit.objects.filter(memberships__group=group)}
    problems, lines = [], []
    for number, raw in enumerate(rows[1:], start=2):
        row = dict(zip(header, raw, strict=False))
        if all(str(v).strip() == "" for v in row.values()):
            continue
        code = str(row.get("unit") or "").strip()
        if code not in units:
            problems.append(
                _("row %(row)s, column unit: %(code)s is not a member of this cooperation")
                % {"row": number, "code": code}
            )
            continue
        category = str(row.get("category") or "").strip().lower()
        if category not in InventoryLine.Category.values:
            problems.append(
                _("row %(row)s, column category: %(value)s is not one of %(allowed)s")
                % {"row": number, "value": category, "allowed": ", ".join(InventoryLine.Category.values)}
            )
            continue
        numbers = {}
        for column in ("have", "need"):
            value = str(row.get(column) if row.get(column) is not None else "").strip().replace(",", ".")
            try:
                numbers[column] = float(value or 0)
                if numbers[column] < 0:
                    raise ValueError
            except ValueError:
                problems.append(
                    _("row %(row)s, column %(column)s: %(value)s is not a number of 0 or more")
                    % {"row": number, "column": column, "value": value}
                )
        if len(numbers) < 2:
            continue
        lines.append(
            InventoryLine(
                group=group,
                unit=units[code],
                actor=str(row.get("actor") or "").strip(),
                category=category,
                theme=str(row.get("theme") or "").strip(),
                item=str(row.get("item") or "").strip(),
                measure=str(row.get("measure") or "").strip(),
                **numbers,
            )
        )
    if problems:
        raise CooperationError("; ".join(problems[:20]), "file")
    return lines


def import_inventory(actor, group, data: bytes, name: str) -> int:
    lines = read_inventory(data, name, group)
    with transaction.atomic():
        for n, line in enumerate(lines, start=2):
            try:
                save_line(actor, line)
            except CooperationError as error:
                raise CooperationError(
                    _("row %(row)s: %(problem)s") % {"row": n, "problem": error.message}, "file"
                ) from error
    return len(lines)


def gaps(group) -> list[dict]:
    """Have, need and gap by theme and category across the cooperation, and whether pooling
    pays: some actors have more than they need where others lack."""
    from .models import InventoryLine

    table: dict[tuple[str, str], dict] = {}
    for line in InventoryLine.objects.filter(group=group).select_related("unit"):
        key = (line.theme, line.category)
        entry = table.setdefault(
            key,
            {
                "theme": line.theme,
                "category": line.get_category_display(),
                "have": 0.0,
                "need": 0.0,
                "short": [],
                "spare": [],
            },
        )
        entry["have"] += line.have
        entry["need"] += line.need
        if line.gap > 0:
            entry["short"].append(f"{line.actor} ({line.unit.label})")
        elif line.gap < 0:
            entry["spare"].append(f"{line.actor} ({line.unit.label})")
    out = []
    for entry in table.values():
        entry["gap"] = entry["need"] - entry["have"]
        entry["pooling"] = bool(entry["short"] and entry["spare"])
        out.append(entry)
    return sorted(out, key=lambda e: (-e["gap"], e["theme"]))
