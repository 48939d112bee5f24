"""Units and groups from and to files: YAML (units, successions, groups), CSV (units) and
GeoJSON (boundaries).

Loading checks the whole file first and writes nothing when anything is wrong; otherwise it
creates or updates by code in one transaction (loading the same file twice changes
nothing) and records an audit event for every object it changed. Problems name the file and
the place in it: `units[3].parent: unknown unit 'PL14'` or `row 5, column 'kind': ...`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record
from municipium.lib import geo
from municipium.lib.numbers import format_number
from municipium.lib.signals import everything_may_have_changed
from municipium.lib.tabular import csv_bytes
from municipium.lib.texts import normalise

from .models import SHARING_KINDS, Group, Membership, Succession, Unit

UNIT_CSV_COLUMNS = ["code", "kind", "parent", "valid_from", "valid_to"] + [f"name_{c}" for c in settings.LANGUAGE_CODES]


@dataclass(frozen=True)
class LoadProblem:
    """Something wrong in a definitions file, located by a path into it."""

    file: str
    path: str
    message: str
    expected: str = ""

    def __str__(self) -> str:
        text = f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"
        if self.expected:
            text += " " + _("(expected: %(expected)s)") % {"expected": self.expected}
        return text


@dataclass
class LoadReport:
    files: list[str] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, file, path, message, expected="") -> None:
        self.problems.append(LoadProblem(str(file), path, message, expected))


class _Refused(Exception):
    pass


def read_yaml(path: Path, report: LoadReport) -> dict | None:
    """The YAML document in `path` as a dict, or None with a problem naming line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        report.problem(path.name, "", _("the file is not UTF-8 text"), _("a YAML file saved as UTF-8"))
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = (
            _("line %(line)s, column %(column)s") % {"line": mark.line + 1, "column": mark.column + 1} if mark else ""
        )
        report.problem(
            path.name,
            where,
            _("not valid YAML: %(error)s") % {"error": getattr(error, "problem", None) or error},
            _("indented 'key: value' lines and '- ' list items"),
        )
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.problem(path.name, "", _("the file must be a mapping of sections"), _("sections such as 'units:'"))
        return None
    return data


def as_date(value, report: LoadReport, file: str, path: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        report.problem(file, path, _("'%(value)s' is not a date") % {"value": value}, _("a date such as 2024-12-31"))
        return None


LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def as_texts(value, report: LoadReport, file: str, path: str, *, required: bool = False) -> dict:
    """A per-language text: a plain string (English) or {en: ..., pl: ...}."""
    if value is None or value == "":
        if required:
            report.problem(file, path, _("the name is missing"), _("a name, at least in English: {en: ...}"))
        return {}
    if not isinstance(value, (str, dict)):
        report.problem(file, path, _("expected a text or a mapping of languages"), "{en: ..., pl: ...}")
        return {}
    texts = normalise(value)
    # Texts in languages beyond the six working ones are kept (the Kolada example keeps the
    # publisher's Swedish): a catalogue may serve more readers than the interface does. A
    # key that is not a language tag at all ("English", "en_GB ") is a mistake, though.
    unknown = sorted(code for code in texts if not LANGUAGE_TAG.fullmatch(code))
    if unknown:
        report.problem(
            file,
            path,
            _("unknown language %(codes)s") % {"codes": ", ".join(unknown)},
            _("a language code such as %(codes)s") % {"codes": ", ".join(settings.LANGUAGE_CODES)},
        )
    if required and not texts:
        report.problem(file, path, _("the name is empty"), _("a name, at least in English: {en: ...}"))
    return texts


def check_code(code, report: LoadReport, file: str, path: str) -> str | None:
    import re

    if code is None or str(code).strip() == "":
        report.problem(file, path, _("the code is missing"), _("a code of letters, digits and _"))
        return None
    code = str(code).strip()
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", code) or len(code) > 64:
        report.problem(
            file,
            path,
            _("'%(code)s' is not a valid code") % {"code": code},
            _("up to 64 letters, digits, '_', '-' or '.', no spaces"),
        )
        return None
    return code


def save_changes(instance, fields: dict, *, actor, via: str, report: LoadReport, exists: bool) -> None:
    """Create or update `instance` with `fields` and audit it; count unchanged objects too."""
    before = {name: _jsonable(getattr(instance, name)) for name in fields} if exists else None
    after = {name: _jsonable(value) for name, value in fields.items()}
    if exists and before == after:
        report.unchanged += 1
        return
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.save()
    record("update" if exists else "create", instance, actor=actor, via=via, before=before, after=after)
    if exists:
        report.updated += 1
    else:
        report.created += 1


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return getattr(value, "code", value.pk)
    return value


# ----------------------------------------------------------------------------------------
# Units and groups


def load_units(
    path, *, actor=None, via: str = "command", key_property: str | None = None, code_prefix: str = ""
) -> LoadReport:
    """Load units (and groups) from a .yaml or .csv file, or boundaries from a .geojson."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        return attach_boundaries(path, key_property, code_prefix, actor=actor, via=via)
    report = LoadReport(files=[path.name])
    if suffix == ".csv":
        entries = _units_from_csv(path, report)
        data = {"units": entries} if entries is not None else None
    else:
        data = read_yaml(path, report)
    if data is None:
        return report
    for key in data:
        if key not in {"units", "groups"}:
            report.problem(path.name, str(key), _("unknown section '%(key)s'") % {"key": key}, "units, groups")
    units = _check_units(data.get("units") or [], path.name, report)
    groups = _check_groups(data.get("groups") or [], {u["code"] for u in units}, path.name, report)
    if report.problems:
        return report

    def save():
        _save_units(units, actor, via, report)
        _save_groups(groups, actor, via, report)

    return save_all_or_nothing(report, save)


def save_all_or_nothing(report: LoadReport, save) -> LoadReport:
    """Run `save` in one transaction: a problem it reports undoes everything it wrote, and
    a change schedules a recompute of the derived figures (which may depend on anything a
    catalogue or a membership says) once it is committed."""
    try:
        with transaction.atomic():
            save()
            if report.problems:
                raise _Refused
            if report.created or report.updated:
                everything_may_have_changed()
    except _Refused:
        report.created = report.updated = report.unchanged = 0
    return report


def _units_from_csv(path: Path, report: LoadReport) -> list[dict] | None:
    from municipium.lib.tabular import decode, sniff_delimiter

    try:
        text, _encoding = decode(path.read_bytes())
    except UnicodeDecodeError:
        report.problem(path.name, "", _("the file is not readable text"), _("a CSV file saved as UTF-8"))
        return None
    rows = list(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)))
    if not rows:
        report.problem(path.name, "", _("the file is empty"), ", ".join(UNIT_CSV_COLUMNS))
        return None
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("code", "kind") if c not in header]
    if missing:
        report.problem(
            path.name,
            _("row 1"),
            _("required columns are missing: %(missing)s; the columns found are %(found)s")
            % {"missing": ", ".join(missing), "found": ", ".join(rows[0])},
            ", ".join(UNIT_CSV_COLUMNS),
        )
        return None
    name_columns = [f"name_{c}" for c in settings.LANGUAGE_CODES]
    if not any(column in header for column in name_columns):
        # Said once for the file, not "the name is empty" on every row (issue 18).
        report.problem(
            path.name,
            _("row 1"),
            _(
                "no name column: the names go in %(columns)s (one column per language, at least name_en); the columns found are %(found)s"
            )
            % {"columns": ", ".join(name_columns), "found": ", ".join(rows[0])},
            ", ".join(UNIT_CSV_COLUMNS),
        )
        return None
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {header[i]: cell.strip() for i, cell in enumerate(row) if i < len(header)}
        entries.append(
            {
                "code": values.get("code"),
                "kind": values.get("kind"),
                "parent": values.get("parent") or None,
                "valid_from": values.get("valid_from") or None,
                "valid_to": values.get("valid_to") or None,
                "name": {c: values[f"name_{c}"] for c in settings.LANGUAGE_CODES if values.get(f"name_{c}")},
                "_path": _("row %(row)s") % {"row": number},
            }
        )
    return entries


def _at(entry: dict, section: str, index: int, key: str = "") -> str:
    base = entry.get("_path") if isinstance(entry, dict) and entry.get("_path") else f"{section}[{index}]"
    if not key:
        return base
    return f"{base}, column '{key}'" if isinstance(entry, dict) and entry.get("_path") else f"{base}.{key}"


def _check_units(entries, file: str, report: LoadReport) -> list[dict]:
    if not isinstance(entries, list):
        report.problem(file, "units", _("expected a list of units"), "- {code: ..., kind: ..., name: ...}")
        return []
    checked, seen = [], {}
    kinds = [k for k, _label in Unit.Kind.choices]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            report.problem(file, f"units[{index}]", _("expected a mapping"), "{code: ..., kind: ..., name: ...}")
            continue
        at = lambda key="", entry=entry, index=index: _at(entry, "units", index, key)  # noqa: E731
        code = check_code(entry.get("code"), report, file, at("code"))
        if code in seen:
            report.problem(
                file,
                at("code"),
                _("the code '%(code)s' is defined twice (first at %(first)s)") % {"code": code, "first": seen[code]},
                _("each code once"),
            )
        elif code:
            seen[code] = at()
        kind = str(entry.get("kind") or Unit.Kind.MUNICIPALITY).strip()
        if kind not in kinds:
            report.problem(
                file,
                at("kind"),
                _("unknown kind '%(kind)s'") % {"kind": kind},
                _("one of %(codes)s") % {"codes": ", ".join(kinds)},
            )
        valid_from = as_date(entry.get("valid_from"), report, file, at("valid_from"))
        valid_to = as_date(entry.get("valid_to"), report, file, at("valid_to"))
        if valid_from and valid_to and valid_to < valid_from:
            report.problem(
                file,
                at("valid_to"),
                _("the unit ends (%(end)s) before it begins (%(start)s)") % {"end": valid_to, "start": valid_from},
                _("a date on or after valid_from"),
            )
        successors = []
        for s_index, successor in enumerate(entry.get("successors") or []):
            s_at = f"{at('successors')}[{s_index}]"
            if not isinstance(successor, dict):
                successor = {"code": successor}
            s_kind = str(successor.get("kind") or Succession.Kind.MERGER)
            if s_kind not in Succession.Kind.values:
                report.problem(
                    file,
                    f"{s_at}.kind",
                    _("unknown kind '%(kind)s'") % {"kind": s_kind},
                    _("one of %(codes)s") % {"codes": ", ".join(Succession.Kind.values)},
                )
            successors.append(
                {
                    "code": str(successor.get("code") or "").strip(),
                    "kind": s_kind,
                    "date": as_date(successor.get("date"), report, file, f"{s_at}.date"),
                    "at": s_at,
                }
            )
        checked.append(
            {
                "code": code,
                "kind": kind,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "name": as_texts(entry.get("name"), report, file, at("name"), required=True),
                "parent": str(entry["parent"]).strip() if entry.get("parent") else None,
                "successors": successors,
                "at": at,
                "file": file,
            }
        )
    known = set(seen) | set(Unit.objects.values_list("code", flat=True))
    parents = {u["code"]: u["parent"] for u in checked}
    for unit in checked:
        if unit["parent"] and unit["parent"] not in known:
            report.problem(
                file,
                unit["at"]("parent"),
                _("unknown unit '%(code)s'") % {"code": unit["parent"]},
                _("the code of a unit in this file or already loaded"),
            )
        for successor in unit["successors"]:
            if successor["code"] not in known:
                report.problem(
                    file,
                    f"{successor['at']}.code",
                    _("unknown unit '%(code)s'") % {"code": successor["code"]},
                    _("the code of a unit in this file or already loaded"),
                )
        # A parent chain that comes back to the unit would make every tree walk loop.
        chain, current = [], unit["code"]
        while current in parents and parents[current] and len(chain) <= len(parents):
            current = parents[current]
            chain.append(current)
            if current == unit["code"]:
                report.problem(
                    file,
                    unit["at"]("parent"),
                    _("the units are each other's parents: %(chain)s") % {"chain": " → ".join([unit["code"], *chain])},
                    _("a tree of units"),
                )
                break
    return checked


def _save_units(units: list[dict], actor, via: str, report: LoadReport) -> None:
    existing = {u.code: u for u in Unit.objects.all()}
    # Parents before children, so that every parent exists when its child is saved.
    pending = {u["code"]: u for u in units}
    ordered, placed = [], set()
    while pending:
        ready = [
            c for c, u in pending.items() if not u["parent"] or u["parent"] not in pending or u["parent"] in placed
        ]
        for code in ready or list(pending):  # a loop of parents was refused by the check
            ordered.append(pending.pop(code))
            placed.add(code)
    for unit in ordered:
        instance = existing.get(unit["code"]) or Unit(code=unit["code"])
        parent = existing.get(unit["parent"]) if unit["parent"] else None
        save_changes(
            instance,
            {
                "kind": unit["kind"],
                "name": unit["name"],
                "parent": parent,
                "valid_from": unit["valid_from"],
                "valid_to": unit["valid_to"],
            },
            actor=actor,
            via=via,
            report=report,
            exists=instance.pk is not None,
        )
        existing[unit["code"]] = instance
    for unit in units:
        for successor in unit["successors"]:
            found = Succession.objects.filter(
                predecessor=existing[unit["code"]], successor=existing[successor["code"]]
            ).first()
            instance = found or Succession(predecessor=existing[unit["code"]], successor=existing[successor["code"]])
            save_changes(
                instance,
                {"kind": successor["kind"], "date": successor["date"]},
                actor=actor,
                via=via,
                report=report,
                exists=found is not None,
            )


def _check_groups(entries, new_units: set[str], file: str, report: LoadReport) -> list[dict]:
    if not isinstance(entries, list):
        report.problem(file, "groups", _("expected a list of groups"), "- {code: ..., kind: ..., members: [...]}")
        return []
    known = new_units | set(Unit.objects.values_list("code", flat=True))
    kinds = Group.Kind.values
    checked, seen = [], set()
    for index, entry in enumerate(entries):
        at = f"groups[{index}]"
        if not isinstance(entry, dict):
            report.problem(file, at, _("expected a mapping"), "{code: ..., kind: ..., members: [...]}")
            continue
        code = check_code(entry.get("code"), report, file, f"{at}.code")
        if code in seen:
            report.problem(
                file, f"{at}.code", _("the code '%(code)s' is defined twice") % {"code": code}, _("each code once")
            )
        seen.add(code)
        kind = str(entry.get("kind") or "").strip()
        if kind not in kinds:
            report.problem(
                file,
                f"{at}.kind",
                _("unknown kind '%(kind)s'") % {"kind": kind},
                _("one of %(codes)s") % {"codes": ", ".join(kinds)},
            )
        members = []
        for m_index, member in enumerate(entry.get("members") or []):
            m_at = f"{at}.members[{m_index}]"
            if not isinstance(member, dict):
                member = {"unit": member}
            unit = str(member.get("unit") or "").strip()
            if unit not in known:
                report.problem(
                    file,
                    f"{m_at}.unit",
                    _("unknown unit '%(code)s'") % {"code": unit},
                    _("the code of a unit in this file or already loaded"),
                )
            start = as_date(member.get("valid_from"), report, file, f"{m_at}.valid_from")
            end = as_date(member.get("valid_to"), report, file, f"{m_at}.valid_to")
            if start and end and end < start:
                report.problem(
                    file,
                    f"{m_at}.valid_to",
                    _("the membership ends (%(end)s) before it begins (%(start)s)") % {"end": end, "start": start},
                    _("a date on or after valid_from"),
                )
            members.append((unit, start, end))
        if len(set(members)) != len(members):
            report.problem(file, f"{at}.members", _("a member is listed twice"), _("each membership once"))
        shares = entry.get("shares_unpublished")
        if shares is not None and not isinstance(shares, bool):
            report.problem(
                file,
                f"{at}.shares_unpublished",
                _("'%(value)s' is not true or false") % {"value": shares},
                _("true (members see each other's unpublished figures) or false"),
            )
            shares = None
        checked.append(
            {
                "code": code,
                "kind": kind,
                "shares_unpublished": shares,  # None: as stored, or the kind's default when new
                "name": as_texts(entry.get("name"), report, file, f"{at}.name", required=True),
                "description": as_texts(entry.get("description"), report, file, f"{at}.description"),
                "members": members,
            }
        )
    return checked


def _save_groups(groups: list[dict], actor, via: str, report: LoadReport) -> None:
    units = {u.code: u for u in Unit.objects.all()}
    existing = {g.code: g for g in Group.objects.all()}
    for group in groups:
        instance = existing.get(group["code"]) or Group(code=group["code"])
        exists = instance.pk is not None
        fields = {"kind": group["kind"], "name": group["name"], "description": group["description"]}
        if group["shares_unpublished"] is not None:
            fields["shares_unpublished"] = group["shares_unpublished"]
        save_changes(
            instance,
            fields,
            actor=actor,
            via=via,
            report=report,
            exists=exists,
        )
        before = sorted(_member_key(m) for m in instance.memberships.select_related("unit")) if exists else []
        after = sorted((unit, _iso(start), _iso(end)) for unit, start, end in group["members"])
        if before != after:
            instance.memberships.all().delete()
            Membership.objects.bulk_create(
                Membership(group=instance, unit=units[unit], valid_from=start, valid_to=end)
                for unit, start, end in group["members"]
            )
            record(
                "update",
                instance,
                actor=actor,
                via=via,
                before={"members": before},
                after={"members": after},
                note="members",
            )
            if exists:
                report.updated += 1


def _iso(day):
    return day.isoformat() if day else None


def _member_key(membership: Membership):
    return (membership.unit.code, _iso(membership.valid_from), _iso(membership.valid_to))


def dump_units(format: str = "yaml") -> str:
    """All units (and, in YAML, successions and groups) in the format load_units reads."""
    units = list(Unit.objects.select_related("parent").order_by("code"))
    if format == "csv":
        rows = [UNIT_CSV_COLUMNS] + [
            [
                unit.code,
                unit.kind,
                unit.parent.code if unit.parent else "",
                _iso(unit.valid_from) or "",
                _iso(unit.valid_to) or "",
                *[unit.name.get(c, "") for c in settings.LANGUAGE_CODES],
            ]
            for unit in units
        ]
        return csv_bytes(rows, lineterminator="\n").decode("utf-8")
    successions: dict[int, list] = {}
    for s in Succession.objects.select_related("successor").order_by("successor__code"):
        successions.setdefault(s.predecessor_id, []).append(
            {"code": s.successor.code, "kind": s.kind, **({"date": s.date} if s.date else {})}
        )
    data = {"units": [], "groups": []}
    for unit in units:
        entry = {"code": unit.code, "kind": unit.kind, "name": unit.name}
        if unit.parent:
            entry["parent"] = unit.parent.code
        for key in ("valid_from", "valid_to"):
            if getattr(unit, key):
                entry[key] = getattr(unit, key)
        if unit.pk in successions:
            entry["successors"] = successions[unit.pk]
        data["units"].append(entry)
    for group in Group.objects.prefetch_related("memberships__unit").order_by("code"):
        members = []
        for m in group.memberships.all():
            if m.valid_from or m.valid_to:
                members.append(
                    {
                        "unit": m.unit.code,
                        **({"valid_from": m.valid_from} if m.valid_from else {}),
                        **({"valid_to": m.valid_to} if m.valid_to else {}),
                    }
                )
            else:
                members.append(m.unit.code)
        entry = {"code": group.code, "kind": group.kind, "name": group.name}
        if group.shares_unpublished != (group.kind in SHARING_KINDS):  # only where it differs from the kind's
            entry["shares_unpublished"] = group.shares_unpublished
        if group.description:
            entry["description"] = group.description
        entry["members"] = members
        data["groups"].append(entry)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def save_units(path, format: str | None = None) -> None:
    path = Path(path)
    format = format or ("csv" if path.suffix.lower() == ".csv" else "yaml")
    path.write_text(dump_units(format), encoding="utf-8")


# ----------------------------------------------------------------------------------------
# Boundaries


def attach_boundaries(
    path,
    key_property: str | None,
    code_prefix: str = "",
    *,
    actor=None,
    via: str = "command",
    max_bytes: int = 1_000_000,
    skip_unknown: bool = False,
) -> LoadReport:
    """Attach the polygons of a GeoJSON FeatureCollection to units.

    Each feature's `key_property` (prefixed with `code_prefix`) names a unit; without a
    key, the property whose values match most unit codes is used. Rings are rewound to
    clockwise exteriors and counter-clockwise holes (what Vega and d3 expect; RFC 7946
    files are the other way round) and simplified until the whole map fits in `max_bytes`
    of JSON, so a country's 290 municipalities still load quickly in a browser.
    """
    path = Path(path)
    report = LoadReport(files=[path.name])
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        report.problem(
            path.name, "", _("not valid GeoJSON: %(error)s") % {"error": error}, _("a GeoJSON FeatureCollection")
        )
        return report
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        report.problem(path.name, "", _("no features found"), _("a GeoJSON FeatureCollection"))
        return report
    units = {u.code: u for u in Unit.objects.all()}
    if key_property is None:
        key_property = _guess_key(features, units, code_prefix)
        if key_property is None:
            report.problem(
                path.name,
                "features[0].properties",
                _("no property of the features matches unit codes"),
                _("a property holding the unit code"),
            )
            return report
    geometries: dict[str, dict] = {}
    for index, feature in enumerate(features):
        at = f"features[{index}]"
        properties = (feature or {}).get("properties") or {}
        if properties.get(key_property) in (None, ""):
            report.problem(path.name, f"{at}.properties.{key_property}", _("the property is missing"), _("a unit code"))
            continue
        code = f"{code_prefix}{properties[key_property]}"
        if code not in units:
            if not skip_unknown:
                report.problem(
                    path.name,
                    f"{at}.properties.{key_property}",
                    _("unknown unit '%(code)s'") % {"code": code},
                    _("the code of a loaded unit"),
                )
            continue
        geometry = (feature or {}).get("geometry") or {}
        polygons = geo.polygons(geometry)
        if polygons is None:
            report.problem(
                path.name,
                f"{at}.geometry",
                _("the geometry is not a polygon"),
                _("a Polygon or MultiPolygon with longitude, latitude pairs"),
            )
            continue
        if code in geometries:
            geometries[code].extend(polygons)  # the same unit in several features: its parts
        else:
            geometries[code] = polygons
    if report.problems:
        return report
    tolerance, shaped = 0.0, {}
    while True:
        shaped = {code: geo.shaped(polygons, tolerance) for code, polygons in geometries.items()}
        size = sum(len(json.dumps(g, separators=(",", ":"))) for g in shaped.values())
        if size <= max_bytes or tolerance > 0.05:
            break
        tolerance = tolerance * 2 if tolerance else 0.0002  # about 20 m, then doubling
    with transaction.atomic():
        for code, geometry in shaped.items():
            unit = units[code]
            if unit.boundary == geometry:
                report.unchanged += 1
                continue
            had = unit.boundary is not None
            unit.boundary = geometry
            unit.save(update_fields=["boundary"])
            record(
                "update",
                unit,
                actor=actor,
                via=via,
                before={"boundary": "…" if had else None},
                after={"boundary": _points(geo.count_points(geometry))},
                note="boundary",
            )
            report.updated += 1
    return report


def _points(count: int) -> str:
    return ngettext("%(points)s point", "%(points)s points", count) % {"points": format_number(count, 0)}


def _guess_key(features, units, prefix) -> str | None:
    counts: dict[str, int] = {}
    for feature in features[:500]:
        for key, value in ((feature or {}).get("properties") or {}).items():
            if f"{prefix}{value}" in units:
                counts[key] = counts.get(key, 0) + 1
    return max(counts, key=counts.get) if counts else None
