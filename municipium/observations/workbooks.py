"""Wide Excel templates for collecting one period's figures from one or more units.

A template has a sheet per service area, a row per variable (and breakdown category) and,
for each unit, a value column, a missing-code column and the last period's figure beside
them. A hidden sheet keeps the codes behind every row and column, so that `read_template`
turns a filled template back into long rows that go through exactly the same checks and
the same commit as any other import (`imports.check` / `imports.commit`); problems then
name the sheet and the cell, "Water, E7".

The sheets are protected (without a password) so that nobody inserts a row and silently
shifts every figure onto the wrong variable; the input cells are unlocked.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import polars as pl
import xlsxwriter
from django.utils.translation import gettext as _

from municipium.catalog.models import ServiceArea, Variable
from municipium.lib.tabular import SAFE_WORKBOOK, Problem, cell_text, column_letter, open_workbook, write_number
from municipium.lib.texts import pick
from municipium.places.models import Group, Unit

from .models import Missing, Observation, Period
from .table import COLUMNS, ImportReport, Table, clean, fmt

META_SHEET = "_municipium"
META_VERSION = "1"
HEADER_ROWS = 5  # title, hint, blank, unit names, sub-headers; data start on row 6
FIRST_UNIT_COLUMN = 3  # after variable, category and unit of measure (0-based)
COLUMNS_PER_UNIT = 3  # value, missing, previous period


def _units_of(group_or_units, period: Period) -> list[Unit]:
    if isinstance(group_or_units, Group):
        units = set(group_or_units.members_in(period))
    elif isinstance(group_or_units, Unit):
        units = {group_or_units}
    else:
        units = set(group_or_units)
    # A unit that did not exist in the period has nothing to report for it.
    return sorted(
        (
            u
            for u in units
            if (u.valid_from is None or u.valid_from <= period.end)
            and (u.valid_to is None or period.start <= u.valid_to)
        ),
        key=lambda u: u.code,
    )


def _sheet_name(text: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", text).strip().strip("'")[:31] or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in taken or candidate.lower() == META_SHEET:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _as_period(period) -> Period:
    return period if isinstance(period, Period) else Period.objects.for_code(str(period))


def build_template(
    group_or_units, period, service_areas: Iterable | None = None, *, language: str | None = None
) -> bytes:
    """An .xlsx template for `period` (a Period or a code) for a group's members, a list of
    units or one unit, with a sheet per service area (all areas with variables of the
    period's kind unless `service_areas` names some, by object or code)."""
    period = _as_period(period)
    units = _units_of(group_or_units, period)
    previous = Period.objects.filter(kind=period.kind, ordinal=period.ordinal - 1).first()
    variables = Variable.objects.filter(period_kind=period.kind).select_related("service_area", "breakdown")
    if service_areas is not None:
        codes = [a.code if isinstance(a, ServiceArea) else str(a) for a in service_areas]
        variables = variables.filter(service_area__code__in=codes)
    by_area: dict[ServiceArea, list[Variable]] = {}
    for variable in variables.order_by("service_area__order", "service_area__code", "order", "code"):
        by_area.setdefault(variable.service_area, []).append(variable)

    unit_ids = [u.pk for u in units]
    variable_ids = [v.pk for area in by_area.values() for v in area]
    current = _stored(unit_ids, variable_ids, period)
    before = _stored(unit_ids, variable_ids, previous) if previous else {}
    missing_labels = {code: str(label) for code, label in Missing.choices}

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, SAFE_WORKBOOK)  # a unit's name is text, never a formula
    styles = _styles(book)
    meta_rows = [["format", "", "", "municipium-template", META_VERSION], ["period", "", "", period.code, ""]]
    taken: set[str] = set()
    for area, area_variables in by_area.items():
        name = _sheet_name(pick(area.name, language).text or area.code, taken)
        sheet = book.add_worksheet(name)
        meta_rows.append(["sheet", name, "", area.code, ""])
        sheet.protect("", {"format_columns": True, "format_rows": True})
        sheet.write(0, 0, f"{pick(area.name, language).text or area.code} — {period.code}", styles["title"])
        sheet.write(
            1,
            0,
            _(
                "Enter a number, or choose why the figure is missing. Leave both empty to skip. "
                "Grey columns show the previous period."
            ),
            styles["hint"],
        )
        sheet.write(HEADER_ROWS - 1, 0, _("Variable"), styles["header"])
        sheet.write(HEADER_ROWS - 1, 1, _("Category"), styles["header"])
        sheet.write(HEADER_ROWS - 1, 2, _("Unit of measure"), styles["header"])
        sheet.set_column(0, 0, 45)
        sheet.set_column(1, 2, 16)
        for position, unit in enumerate(units):
            col = FIRST_UNIT_COLUMN + position * COLUMNS_PER_UNIT
            label = unit.label
            sheet.merge_range(
                HEADER_ROWS - 2, col, HEADER_ROWS - 2, col + 2, f"{label} ({unit.code})", styles["header"]
            )
            sheet.write(HEADER_ROWS - 1, col, period.code, styles["header"])
            sheet.write(HEADER_ROWS - 1, col + 1, _("missing"), styles["header"])
            sheet.write(HEADER_ROWS - 1, col + 2, previous.code if previous else "", styles["previous_header"])
            sheet.set_column(col, col, 14)
            sheet.set_column(col + 1, col + 1, 14)
            sheet.set_column(col + 2, col + 2, 11)
            meta_rows.append(["col", name, col + 1, unit.code, "value"])
            meta_rows.append(["col", name, col + 2, unit.code, "missing"])
        sheet.freeze_panes(HEADER_ROWS, FIRST_UNIT_COLUMN)

        row = HEADER_ROWS
        for variable in area_variables:
            categories = list(variable.breakdown.categories.all()) if variable.breakdown_id else [None]
            for category in categories:
                sheet.write(row, 0, variable.label, styles["label"])
                sheet.write(
                    row, 1, pick(category.name, language).text or category.code if category else "", styles["label"]
                )
                sheet.write(row, 2, pick(variable.unit_of_measure, language).text, styles["label"])
                meta_rows.append(["row", name, row + 1, variable.code, category.code if category else ""])
                code = category.code if category else ""
                for position, unit in enumerate(units):
                    col = FIRST_UNIT_COLUMN + position * COLUMNS_PER_UNIT
                    value, missing = current.get((unit.pk, variable.pk, code), (None, ""))
                    if value is not None:
                        write_number(sheet, row, col, value, styles["input"])
                    else:
                        sheet.write_blank(row, col, None, styles["input"])
                    sheet.write(row, col + 1, missing_labels.get(missing, ""), styles["input"])
                    old_value, old_missing = before.get((unit.pk, variable.pk, code), (None, ""))
                    if old_value is not None:
                        write_number(sheet, row, col + 2, old_value, styles["previous"])
                    else:
                        sheet.write(row, col + 2, missing_labels.get(old_missing, ""), styles["previous"])
                row += 1
            _validate(sheet, row - len(categories), row - 1, variable, len(units), list(missing_labels.values()))

    meta = book.add_worksheet(META_SHEET)
    for index, values in enumerate(meta_rows):
        meta.write_row(index, 0, values)
    meta.very_hidden()
    book.close()
    return buffer.getvalue()


def _stored(unit_ids, variable_ids, period) -> dict[tuple, tuple]:
    if period is None or not unit_ids or not variable_ids:
        return {}
    return {
        (u, v, b): (value, missing)
        for u, v, b, value, missing in Observation.objects.filter(
            unit_id__in=unit_ids, variable_id__in=variable_ids, period=period
        ).values_list("unit_id", "variable_id", "breakdown", "value", "missing")
    }


def _styles(book) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "hint": book.add_format({"italic": True, "font_color": "#555555"}),
        "header": book.add_format(
            {
                "bold": True,
                "bg_color": "#DDE5F0",
                "border": 1,
                "text_wrap": True,
                "align": "center",
                "valign": "vcenter",
            }
        ),
        "previous_header": book.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1, "font_color": "#666666"}),
        "label": book.add_format({"border": 1}),
        "input": book.add_format({"locked": False, "border": 1, "bg_color": "#FFFDE7"}),
        "previous": book.add_format({"border": 1, "bg_color": "#EEEEEE", "font_color": "#666666"}),
    }


def _validate(
    sheet, first_row: int, last_row: int, variable: Variable, unit_count: int, missing_labels: list[str]
) -> None:
    if not unit_count:
        return
    low, high = variable.min_value, variable.max_value
    if low is not None and high is not None:
        rule = {"criteria": "between", "minimum": low, "maximum": high}
        hint = _("A number from %(min)s to %(max)s.") % {"min": fmt(low), "max": fmt(high)}
    elif low is not None:
        rule = {"criteria": ">=", "value": low}
        hint = _("A number of at least %(min)s.") % {"min": fmt(low)}
    elif high is not None:
        rule = {"criteria": "<=", "value": high}
        hint = _("A number of at most %(max)s.") % {"max": fmt(high)}
    else:
        rule = {"criteria": "between", "minimum": -1e300, "maximum": 1e300}
        hint = _("A number.")
    for position in range(unit_count):
        col = FIRST_UNIT_COLUMN + position * COLUMNS_PER_UNIT
        sheet.data_validation(
            first_row,
            col,
            last_row,
            col,
            {
                "validate": "decimal",
                **rule,
                "input_title": variable.code[:32],
                "input_message": hint[:255],
                "error_title": _("Not allowed")[:32],
                "error_message": hint[:255],
            },
        )
        sheet.data_validation(
            first_row,
            col + 1,
            last_row,
            col + 1,
            {
                "validate": "list",
                "source": missing_labels,
                "error_message": _("Choose why the figure is missing from the list.")[:255],
            },
        )


def read_template(
    source, *, name: str | None = None, report: ImportReport | None = None, workbook=None
) -> Table | None:
    """Long rows from a filled template, located by sheet and cell, ready for
    `imports.dry_run` / `imports.commit`. Problems go into `report`; None when unreadable."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read()
        name = name or getattr(source, "name", None)
    else:
        with open(source, "rb") as handle:
            data = handle.read()
        name = name or str(source).rsplit("/", 1)[-1]
    name = name or "template.xlsx"
    report = report if report is not None else ImportReport(file=name, format="xlsx")
    workbook = workbook or open_workbook(data, name, "xlsx", report)
    if workbook is None:
        return None
    if META_SHEET not in workbook.sheet_names:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the workbook is not a Municipium template"),
                _("a template downloaded from Municipium, or a file with columns unit, variable, period, value"),
            )
        )
        return None
    meta = workbook.get_sheet_by_name(META_SHEET).to_python()
    period = next((cell_text(r[3]) for r in meta if r and r[0] == "period"), None)
    sheets: dict[str, dict] = {}
    for entry in meta:
        kind, sheet_name = entry[0], entry[1]
        if kind == "sheet":
            sheets[sheet_name] = {"rows": [], "cols": {}}
        elif kind == "row":
            sheets[sheet_name]["rows"].append((int(entry[2]), cell_text(entry[3]), cell_text(entry[4]) or ""))
        elif kind == "col":
            sheets[sheet_name]["cols"].setdefault(cell_text(entry[3]), {})[entry[4]] = int(entry[2])

    records: dict[str, list] = {
        c: [] for c in (*COLUMNS, "_row", "_sheet", "_cell_value", "_label_value", "_cell_missing", "_label_missing")
    }
    headers: dict[str, dict[str, str]] = {}
    for sheet_name, layout in sheets.items():
        if sheet_name not in workbook.sheet_names:
            report.add(
                Problem(
                    name,
                    sheet_name,
                    None,
                    None,
                    _("the sheet '%(sheet)s' was renamed or removed") % {"sheet": sheet_name},
                    _("the sheets as they were in the downloaded template"),
                )
            )
            return None
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        unit_header = rows[HEADER_ROWS - 2] if len(rows) >= HEADER_ROWS - 1 else []
        headers[sheet_name] = {"value": _("value"), "missing": _("missing")}

        def cell(r: int, c: int):
            if r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                return cell_text(rows[r - 1][c - 1])
            return None

        for unit_code, roles in layout["cols"].items():
            value_col, missing_col = roles["value"], roles["missing"]
            unit_label = cell(HEADER_ROWS - 1, value_col) if unit_header else None
            for row_number, variable_code, category in layout["rows"]:
                value, missing = cell(row_number, value_col), cell(row_number, missing_col)
                if value is None and missing is None:
                    continue  # not filled in: nothing to say about it
                for column, text in (
                    ("unit", unit_code),
                    ("variable", variable_code),
                    ("period", period),
                    ("breakdown", category or None),
                    ("value", value),
                    ("missing", missing),
                    ("status", None),
                    ("source", None),
                    ("comment", None),
                ):
                    records[column].append(text)
                records["_row"].append(row_number)
                records["_sheet"].append(sheet_name)
                records["_cell_value"].append(f"{column_letter(value_col - 1)}{row_number}")
                records["_cell_missing"].append(f"{column_letter(missing_col - 1)}{row_number}")
                records["_label_value"].append(unit_label or unit_code)
                records["_label_missing"].append(unit_label or unit_code)
    frame = pl.DataFrame(records, schema={**{c: pl.String for c in records}, "_row": pl.Int64})
    frame = clean(frame)
    if frame.height == 0:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("no figures are filled in"),
                _("a number or a missing code in the yellow cells"),
            )
        )
        return None
    # Numbers come from cells as numbers; text typed into a cell is read either way.
    return Table(name, "template", frame, headers=headers, decimal=".", data=data)
