"""XLSForm in and out: a survey's questionnaire as the workbook ODK and KoboToolbox use.

Officials design questionnaires in Excel and may run them in ODK or KoboToolbox as well as
here, so the stored questionnaire keeps the XLSForm's shape (see `models.py`) and an
export followed by an import gives the same questions and choices back. Columns we do not
interpret are kept per row in `extra` and written back, so nothing a form designer put in
is lost on the way through Municipium.

Reading is strict because a questionnaire with a broken `relevant` or a scale missing a
point fails in the field, in front of respondents, where nobody can fix it: every problem
is reported with its sheet, row and column, and a refused file changes nothing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from municipium.audit.models import record
from municipium.lib.numbers import format_number
from municipium.lib.tabular import Problem, ProblemReport, cell_text, column_letter, open_workbook, read_source

from .expressions import ExpressionError
from .expressions import parse as parse_expression
from .models import Choice, Question, Survey

SHEETS = ("survey", "choices", "settings")
# The start of every Excel 97–2003 (.xls) file: an OLE2 compound document, which calamine reads.
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# pyxform's aliases of settings columns: written once, under the name ODK documents.
SETTING_ALIASES = {"title": "form_title", "id_string": "form_id"}
# Columns that hold one text per language (`label::English (en)`).
TRANSLATED = ("label", "hint", "constraint_message")
SURVEY_COLUMNS = (
    "type",
    "name",
    *TRANSLATED,
    "required",
    "relevant",
    "constraint",
    "appearance",
    "municipium_role",
    "municipium_service",
    "municipium_scale",
    "municipium_satisfied",
)
CHOICE_COLUMNS = ("list_name", "name", "label", "municipium_missing")
# The native name of each language, as written in the `label::Polski (pl)` headers we export.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "sr": "Српски", "bg": "Български", "lt": "Lietuvių", "fa": "فارسی"}
# Names people and tools write in headers without a code: English and native names.
_LANGUAGE_ALIASES = {
    "english": "en",
    "polish": "pl",
    "polski": "pl",
    "serbian": "sr",
    "српски": "sr",
    "srpski": "sr",
    "bulgarian": "bg",
    "български": "bg",
    "lithuanian": "lt",
    "lietuvių": "lt",
    "lietuviu": "lt",
    "persian": "fa",
    "farsi": "fa",
    "فارسی": "fa",
}
# What a yes/no column accepts, in pairs, as pyxform does (an empty cell is no).
_TRUE = ("yes", "true", "1", "y", "true()")
_FALSE = ("no", "false", "0", "n", "false()", "")
# Rows ODK fills in from the device (clock, phone number, user): Municipium asks for none of
# them, so they are skipped with a note rather than refused.
METADATA_TYPES = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
}
_GROUP_TYPES = {
    "begin_group": Question.Kind.BEGIN_GROUP,
    "begin group": Question.Kind.BEGIN_GROUP,
    "end_group": Question.Kind.END_GROUP,
    "end group": Question.Kind.END_GROUP,
    "begin_repeat": Question.Kind.BEGIN_REPEAT,
    "begin repeat": Question.Kind.BEGIN_REPEAT,
    "end_repeat": Question.Kind.END_REPEAT,
    "end repeat": Question.Kind.END_REPEAT,
}
_OPENS = {Question.Kind.BEGIN_GROUP: Question.Kind.END_GROUP, Question.Kind.BEGIN_REPEAT: Question.Kind.END_REPEAT}
# Types stored and exported but neither asked on the web form nor analysed.
NOT_ANALYSED = {Question.Kind.DATE, Question.Kind.CALCULATE}
_PLAIN_TYPES = {
    "integer": Question.Kind.INTEGER,
    "int": Question.Kind.INTEGER,
    "decimal": Question.Kind.DECIMAL,
    "text": Question.Kind.TEXT,
    "string": Question.Kind.TEXT,
    "note": Question.Kind.NOTE,
    "date": Question.Kind.DATE,
    "calculate": Question.Kind.CALCULATE,
}
_SELECT_TYPE = re.compile(
    r"^(select_one|select_multiple|select one|select multiple|select all that apply)\s+(?:from\s+)?(\S+)"
    r"(\s+(?:or_other|or specify other))?$",
    re.IGNORECASE,
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# A rated (satisfaction, importance, overall) question declares its scale: `municipium_scale`
# "1-7" or "0–10" and `municipium_satisfied` "6,7" or "9-10", the answers counted satisfied.
# Its list must have every point of the scale; any other choice must be marked as "don't
# know / not used" (`municipium_missing`). A 99 left unmarked would otherwise enter the mean.
# Without the two columns a rated question is on the default scale 1–5 with 4 and 5 satisfied
# (what every questionnaire before declared scales was read as), which its list must then fit.
DEFAULT_SCALE = {"low": 1, "high": 5, "satisfied": [4, 5]}
SCALE_ROLES = {Question.Role.SATISFACTION, Question.Role.IMPORTANCE, Question.Role.OVERALL}
_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:-|–|—|\.\.|to)\s*(-?\d+)\s*$")


def scale_range(text: str) -> tuple[int, int] | None:
    """ "1-7", "0–10", "1..5" → (low, high) with low < high; None when it is not one."""
    found = _RANGE.match(text or "")
    if not found:
        return None
    low, high = int(found.group(1)), int(found.group(2))
    return (low, high) if low < high else None


def scale_values(text: str) -> list[int] | None:
    """ "4,5", "9-10", "6, 7" → the whole numbers listed or spanned; None when unreadable."""
    out: list[int] = []
    for part in re.split(r"[,;\s]+", (text or "").strip()):
        if not part:
            continue
        if re.fullmatch(r"-?\d+", part):
            out.append(int(part))
        elif span := scale_range(part):
            out.extend(range(span[0], span[1] + 1))
        else:
            return None
    return sorted(set(out)) or None


def _n(value: int) -> str:
    return format_number(value, 0, grouping=False)


def scale_text(scale: dict) -> tuple[str, str]:
    """A declared scale as the two XLSForm cells it is written in."""
    if not scale:
        return "", ""
    return f"{scale['low']}-{scale['high']}", ",".join(str(v) for v in scale["satisfied"])


@dataclass
class Sheet:
    """A sheet read into text: its header and rows as {column: text}, with row numbers."""

    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def letter(self, column: str) -> str:
        if column in self.header:
            return column_letter(self.header.index(column))
        # `Type`, `List name`: headers are read whatever their case and spacing.
        wanted = column.strip().lower().replace(" ", "_")
        found = [i for i, h in enumerate(self.header) if h.strip().lower().replace(" ", "_") == wanted]
        return column_letter(found[0]) if found else ""


@dataclass
class Form:
    """A questionnaire checked and ready to store: Question and Choice field values."""

    questions: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    # Things skipped on the way in that the person should know about (not problems).
    notes: list[str] = field(default_factory=list)


class FormRefused(Exception):
    def __init__(self, report: ProblemReport):
        super().__init__("; ".join(str(p) for p in report.problems))
        self.report = report


# ----------------------------------------------------------------------------------------
# Reading


def read_workbook(source, name: str | None = None) -> tuple[dict[str, Sheet], ProblemReport]:
    """The sheets of an XLSForm workbook as text. Problems that stop reading are in the report."""
    data, name, size = read_source(source, name, settings.MAX_IMPORT_BYTES)
    report = ProblemReport(file=name, size=size, format="xlsx")
    if data is None:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is larger than this installation accepts"),
                _("an XLSForm of a few hundred kilobytes"),
            )
        )
        return {}, report
    if data[:8] == OLE2:
        report.format = "xls"
    elif data[:4] != b"PK\x03\x04":
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is not an Excel workbook (.xlsx or .xls)"),
                _("an XLSForm saved from Excel, LibreOffice, KoboToolbox or ODK as .xlsx or .xls"),
            )
        )
        return {}, report
    workbook = open_workbook(data, name, report.format, report)
    if workbook is None:
        return {}, report
    sheets = {}
    for sheet_name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        if not rows:
            continue
        header = [(cell_text(cell) or "").strip() for cell in rows[0]]
        body = []
        for number, cells in enumerate(rows[1:], start=2):
            values = {column: (cell_text(cell) or "").strip() for column, cell in zip(header, cells) if column}
            if any(values.values()):
                body.append((number, values))
        sheets[sheet_name.strip().lower()] = Sheet(sheet_name.strip().lower(), header, body)
    return sheets, report


def language_code(text: str) -> str | None:
    """`English (en)`, `en`, `Polski` → our language code; None for a language we do not offer."""
    text = text.strip()
    found = re.search(r"\(([A-Za-z\-]+)\)\s*$", text)
    candidate = (found.group(1) if found else text).lower().split("-")[0]
    if candidate in settings.LANGUAGE_CODES:
        return candidate
    return _LANGUAGE_ALIASES.get(re.sub(r"\s*\(.*\)\s*$", "", text).strip().lower())


def _split(column: str, default_language: str) -> tuple[str, str | None]:
    """`label::English (en)` → ("label", "en"); `label` → ("label", default language);
    a translated column in a language we do not offer → (column, None), kept as extra."""
    base, _sep, language = column.partition("::")
    if not _sep and ":" in column:
        # `label:English`, as pyxform also reads it (a single colon).
        single, _one, rest = column.partition(":")
        if single.strip().lower().replace(" ", "_") in TRANSLATED:
            base, _sep, language = single, ":", rest
    base = base.strip().lower().replace(" ", "_")
    if base not in TRANSLATED:
        return base, None
    if not _sep:
        return base, default_language
    code = language_code(language)
    return (base, code) if code else (column, None)


def not_yes_or_no(value: str) -> str:
    """The problem for a cell `_boolean` cannot read, naming exactly the words it accepts: they
    are XLSForm's own (English) words, so a translation must not turn them into "tak" or "да"."""
    accepted = ", ".join(word for pair in zip(_TRUE, _FALSE, strict=False) for word in pair)
    return _("'%(value)s' is not yes or no: write one of %(accepted)s, or leave the cell empty") % {
        "value": value,
        "accepted": accepted,
    }


def _boolean(value: str) -> bool | None:
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def parse(sheets: dict[str, Sheet], file: str = "") -> Form:
    """Check an XLSForm read into sheets; the Form to store, or FormRefused listing every problem."""
    report = ProblemReport(file=file, format="xlsx")
    for required in ("survey",):
        if required not in sheets:
            report.add(
                Problem(
                    file,
                    required,
                    None,
                    None,
                    _("the workbook has no sheet named '%(sheet)s'") % {"sheet": required},
                    _("the XLSForm sheets survey, choices (when there are selects) and (optionally) settings"),
                )
            )
    if "entities" in sheets and sheets["entities"].rows:
        report.add(
            Problem(
                file,
                "entities",
                sheets["entities"].rows[0][0],
                None,
                _("ODK entities (the 'entities' sheet) are not supported"),
                _("a form without an entities sheet"),
            )
        )
    if not report.ok:
        raise FormRefused(report)

    form = Form()
    setting_rows = sheets["settings"].rows if "settings" in sheets else []
    form.settings = {}
    for key, value in (setting_rows[0][1] if setting_rows else {}).items():
        # Settings headers are read whatever their case, as pyxform reads them (Form_ID = form_id).
        key = key.strip().lower()
        key = SETTING_ALIASES.get(key, key)
        if value or key not in form.settings:
            form.settings[key] = value
    default_language = language_code(form.settings.get("default_language", "") or "") or settings.LANGUAGE_CODE
    if form.settings.get("default_language"):
        form.settings["default_language"] = default_language
    languages: set[str] = set()

    def problem(sheet: Sheet, row: int | None, column: str | None, message: str, expected: str = ""):
        cell = f"{sheet.letter(column)}{row}" if column and row and sheet.letter(column) else ""
        report.add(Problem(file, sheet.name, row, column, message, expected, cell))

    def split_row(values: dict[str, str], known: tuple[str, ...]) -> tuple[dict, dict, dict]:
        plain, texts, extra = {}, {}, {}
        for column, value in values.items():
            base, language = _split(column, default_language)
            if language:
                if value:
                    texts.setdefault(base, {})[language] = value
                    languages.add(language)
            elif base in known:
                plain[base] = value
            elif value:
                extra[column] = value
        return plain, texts, extra

    # Choices first: the survey rows are checked against the lists.
    choices_sheet = sheets.get("choices") or Sheet("choices", [], [])
    lists: dict[str, list[str]] = {}
    duplicates: dict[str, list[tuple[int, str]]] = {}
    choice_row: dict[tuple[str, str], int] = {}
    marked_missing: set[tuple[str, str]] = set()
    checked_lists: set[tuple[str, int, int]] = set()
    for row, values in choices_sheet.rows:
        plain, texts, extra = split_row(
            {("list_name" if k.strip().lower() == "list name" else k): v for k, v in values.items()}, CHOICE_COLUMNS
        )
        list_name, name = plain.get("list_name", ""), plain.get("name", "")
        if not list_name:
            problem(
                choices_sheet,
                row,
                "list_name",
                _("the choice has no list name"),
                _("the name of the list it belongs to"),
            )
            continue
        if not name:
            problem(choices_sheet, row, "name", _("the choice has no name"), _("a short code such as 1 or yes"))
            continue
        if name in lists.get(list_name, []):
            # Allowed where a choice_filter tells them apart (checked once the survey is read).
            duplicates.setdefault(list_name, []).append((row, name))
        missing = _boolean(plain.get("municipium_missing", ""))
        if missing is None:
            problem(
                choices_sheet,
                row,
                "municipium_missing",
                not_yes_or_no(plain["municipium_missing"]),
                _('yes for a "don\'t know" choice, otherwise empty'),
            )
            missing = False
        lists.setdefault(list_name, []).append(name)
        choice_row.setdefault((list_name, name), row)
        if missing:
            marked_missing.add((list_name, name))
        form.choices.append(
            {
                "list_name": list_name,
                "name": name,
                "label": texts.get("label", {}),
                "order": len(form.choices) + 1,
                "is_missing": missing,
                "extra": extra,
            }
        )

    survey_sheet = sheets["survey"]

    def declared_scale(row: int, name: str, kind: str, list_name: str, plain: dict) -> dict:
        """The rated question's scale as declared (or the default 1–5), its list checked
        against it; {} after reporting a problem."""
        if kind != Question.Kind.SELECT_ONE:
            problem(
                survey_sheet,
                row,
                "type",
                _("a rated question must be a select_one over the points of its scale"),
                _("select_one with a list whose choices are named by the points, e.g. 1 to 5"),
            )
            return {}
        scale_cell, satisfied_cell = plain.get("municipium_scale", ""), plain.get("municipium_satisfied", "")
        if not scale_cell and not satisfied_cell:
            scale = dict(DEFAULT_SCALE)
        else:
            span = scale_range(scale_cell)
            if span is None:
                problem(
                    survey_sheet,
                    row,
                    "municipium_scale",
                    _("'%(value)s' is not a scale") % {"value": scale_cell},
                    _("the lowest and highest point, e.g. 1-5, 1-7 or 0-10"),
                )
                return {}
            satisfied = scale_values(satisfied_cell)
            if (
                not satisfied
                or not all(span[0] <= v <= span[1] for v in satisfied)
                or len(satisfied) > span[1] - span[0]
            ):
                problem(
                    survey_sheet,
                    row,
                    "municipium_satisfied",
                    _("'%(value)s' does not say which points of the scale %(low)s–%(high)s count as satisfied")
                    % {"value": satisfied_cell, "low": _n(span[0]), "high": _n(span[1])},
                    _("some (not all) points of the scale, e.g. 4,5 on 1-5 or 9-10 on 0-10"),
                )
                return {}
            scale = {"low": span[0], "high": span[1], "satisfied": satisfied}
        if list_name not in lists:
            return scale
        points = [str(v) for v in range(scale["low"], scale["high"] + 1)]
        absent = [p for p in points if p not in lists[list_name]]
        if absent:
            problem(
                survey_sheet,
                row,
                "municipium_scale" if scale_cell else "type",
                _("the question is rated on %(low)s–%(high)s but its list '%(list)s' lacks the choice(s) %(absent)s")
                % {"low": _n(scale["low"]), "high": _n(scale["high"]), "list": list_name, "absent": ", ".join(absent)},
                _("a choice named by each point of the scale, or the scale of the list in municipium_scale"),
            )
            return {}
        if (list_name, scale["low"], scale["high"]) in checked_lists:
            return scale
        checked_lists.add((list_name, scale["low"], scale["high"]))
        ok = True
        for choice in lists[list_name]:
            on_scale = choice in points
            if on_scale == ((list_name, choice) in marked_missing):
                ok = False
                problem(
                    choices_sheet,
                    choice_row[(list_name, choice)],
                    "municipium_missing" if "municipium_missing" in choices_sheet.header else "name",
                    (
                        _(
                            "the choice '%(choice)s' is a point of the scale %(low)s–%(high)s (question "
                            '%(name)s, row %(row)s) but is marked as "don\'t know"'
                        )
                        if on_scale
                        else _(
                            "the choice '%(choice)s' of the list '%(list)s' is outside the scale %(low)s–%(high)s "
                            '(question %(name)s, row %(row)s) and not marked as "don\'t know / not used"'
                        )
                    )
                    % {
                        "choice": choice,
                        "list": list_name,
                        "low": _n(scale["low"]),
                        "high": _n(scale["high"]),
                        "row": row,
                        "name": name,
                    },
                    _('yes in municipium_missing for a "don\'t know" code such as 99, or a wider declared scale'),
                )
        return scale if ok else {}

    names: dict[str, int] = {}
    answerable: set[str] = set()
    open_groups: list[tuple[int, str, str]] = []
    skipped: dict[str, int] = {}
    filtered: set[str] = set()
    pending_expressions = []
    roles = set(Question.Role.values)
    for row, values in survey_sheet.rows:
        plain, texts, extra = split_row(values, SURVEY_COLUMNS)
        raw_type = re.sub(r"\s+", " ", plain.get("type", "")).strip()
        lowered = raw_type.lower()
        name = plain.get("name", "")
        list_name = ""
        or_other = False
        if not raw_type and not name and not texts.get("label"):
            continue  # a comment row (pyxform skips it too)
        if lowered in METADATA_TYPES:
            if name:
                skipped[name] = row
            form.notes.append(
                _("Row %(row)s (%(type)s) skipped: Municipium does not record device data.")
                % {"row": row, "type": raw_type}
            )
            continue
        if lowered in _GROUP_TYPES:
            kind = _GROUP_TYPES[lowered]
        elif lowered in _PLAIN_TYPES:
            kind = _PLAIN_TYPES[lowered]
        elif select := _SELECT_TYPE.match(raw_type):
            kind = (
                Question.Kind.SELECT_ONE
                if select.group(1).lower().replace(" ", "_") == "select_one"
                else Question.Kind.SELECT_MULTIPLE
            )
            list_name = select.group(2)
            or_other = bool(select.group(3))
            if list_name not in lists:
                problem(
                    survey_sheet,
                    row,
                    "type",
                    _("the choice list '%(list)s' is not on the choices sheet") % {"list": list_name},
                    _("rows with list_name %(list)s on the choices sheet") % {"list": list_name},
                )
        elif not raw_type:
            problem(
                survey_sheet,
                row,
                "type",
                _("the row has a name or label but no type"),
                _("a type such as select_one, integer, text, note, begin_group"),
            )
            continue
        else:
            problem(
                survey_sheet,
                row,
                "type",
                _("the type '%(type)s' is not supported") % {"type": raw_type},
                _(
                    "select_one, select_multiple (… or_other), integer, decimal, text, note, date, calculate, "
                    "begin_group/end_group or begin_repeat/end_repeat"
                ),
            )
            continue

        if kind in (Question.Kind.END_GROUP, Question.Kind.END_REPEAT):
            if not open_groups:
                problem(
                    survey_sheet,
                    row,
                    "type",
                    _("end_group without a begin_group before it")
                    if kind == Question.Kind.END_GROUP
                    else _("end_repeat without a begin_repeat before it"),
                    _("a begin_group row earlier in the sheet")
                    if kind == Question.Kind.END_GROUP
                    else _("a begin_repeat row earlier in the sheet"),
                )
            else:
                opened_row, opened_name, opened_kind = open_groups.pop()
                if _OPENS[opened_kind] != kind:
                    problem(
                        survey_sheet,
                        row,
                        "type",
                        _("'%(type)s' closes '%(name)s' of row %(row)s, which needs %(closing)s")
                        % {"type": raw_type, "name": opened_name, "row": opened_row, "closing": _OPENS[opened_kind]},
                        _("end_group for a begin_group, end_repeat for a begin_repeat"),
                    )
        elif not name:
            problem(survey_sheet, row, "name", _("the row has no name"), _("a short name of letters, digits and _"))
        elif not _NAME.match(name):
            problem(
                survey_sheet,
                row,
                "name",
                _("'%(name)s' is not a valid name") % {"name": name},
                _("letters, digits, _ . and -, starting with a letter"),
            )
        elif name in names:
            problem(
                survey_sheet,
                row,
                "name",
                _("the name '%(name)s' is already used on row %(first)s") % {"name": name, "first": names[name]},
                _("a name used only once"),
            )
        else:
            names[name] = row
            if kind not in (Question.Kind.BEGIN_GROUP, Question.Kind.BEGIN_REPEAT, Question.Kind.NOTE):
                answerable.add(name)
        if kind in _OPENS:
            open_groups.append((row, name, kind))

        required = _boolean(plain.get("required", ""))
        if required is None:
            problem(
                survey_sheet,
                row,
                "required",
                not_yes_or_no(plain["required"]),
                _("yes, true or 1 for a required question; empty otherwise"),
            )
            required = False
        role = plain.get("municipium_role", "").strip().lower()
        if role not in roles:
            problem(
                survey_sheet,
                row,
                "municipium_role",
                _("the role '%(role)s' is unknown") % {"role": role},
                ", ".join(r for r in Question.Role.values if r),
            )
            role = ""
        scale: dict = {}
        if role in SCALE_ROLES:
            scale = declared_scale(row, name, kind, list_name, plain)
        elif plain.get("municipium_scale") or plain.get("municipium_satisfied"):
            problem(
                survey_sheet,
                row,
                "municipium_scale" if plain.get("municipium_scale") else "municipium_satisfied",
                _("only a rated question (satisfaction, importance, overall) has a scale"),
                _("the role satisfaction, importance or overall, or empty scale cells"),
            )
        if list_name and any(k.strip().lower() == "choice_filter" and v for k, v in extra.items()):
            filtered.add(list_name)
        for column in ("relevant", "constraint"):
            if plain.get(column):
                pending_expressions.append((row, column, plain[column]))
        form.questions.append(
            {
                "order": len(form.questions) + 1,
                "kind": kind,
                "name": name if kind not in (Question.Kind.END_GROUP, Question.Kind.END_REPEAT) else "",
                "list_name": list_name,
                "label": texts.get("label", {}),
                "hint": texts.get("hint", {}),
                "constraint_message": texts.get("constraint_message", {}),
                "required": required,
                "relevant": plain.get("relevant", ""),
                "constraint": plain.get("constraint", ""),
                "appearance": plain.get("appearance", ""),
                "or_other": or_other,
                "role": role,
                "service": plain.get("municipium_service", ""),
                "scale": scale,
                "extra": extra,
            }
        )
    allow_duplicates = _boolean(str(form.settings.get("allow_choice_duplicates", ""))) is True
    for list_name, repeated in duplicates.items():
        if allow_duplicates or list_name in filtered:
            continue
        for row, name in repeated:
            problem(
                choices_sheet,
                row,
                "name",
                _("the list '%(list)s' has the choice '%(name)s' twice") % {"list": list_name, "name": name},
                _("each choice name once per list, unless a choice_filter tells them apart"),
            )
    for row, name, _kind in open_groups:
        problem(
            survey_sheet,
            row,
            "type",
            _("the group '%(name)s' is never closed") % {"name": name},
            _("an end_group row after its questions"),
        )
    if skipped:
        # A skipped device-data row that a label or expression uses would leave it pointing at nothing.
        for row, values in survey_sheet.rows:
            for column, value in values.items():
                for used in re.findall(r"\$\{([^}]+)\}", value or ""):
                    if used.strip() in skipped and used.strip() not in names:
                        problem(
                            survey_sheet,
                            row,
                            column,
                            _("${%(name)s} is device data (row %(row)s), which Municipium does not record")
                            % {"name": used.strip(), "row": skipped[used.strip()]},
                            _("no reference to start, end, today, deviceid and the other device-data rows"),
                        )
    known = frozenset(answerable)
    for row, column, text in pending_expressions:
        try:
            parse_expression(text, known)
        except ExpressionError as error:
            where = (
                _(" (at character %(position)s)") % {"position": error.position + 1}
                if error.position is not None
                else ""
            )
            problem(
                survey_sheet,
                row,
                column,
                f"{error.message}{where}: {text}",
                _("an XLSForm expression over questions of this form, e.g. ${used_water} = 'yes'"),
            )
    if not form.questions and report.ok:
        report.add(
            Problem(file, "survey", None, None, _("the survey sheet has no questions"), _("one row per question"))
        )
    if not report.ok:
        raise FormRefused(report)
    form.languages = [code for code in settings.LANGUAGE_CODES if code in languages]
    return form


def read(source, name: str | None = None) -> Form:
    """Read and check an uploaded XLSForm; FormRefused when anything is wrong."""
    sheets, report = read_workbook(source, name)
    if not report.ok:
        raise FormRefused(report)
    return parse(sheets, report.file)


# ----------------------------------------------------------------------------------------
# Storing


def questionnaire_state(survey: Survey) -> dict:
    """Everything a replace touches, comparable with ==: to prove a refusal changed nothing."""
    return {
        "questions": list(
            survey.questions.order_by("order").values(
                "order",
                "kind",
                "name",
                "list_name",
                "label",
                "hint",
                "required",
                "relevant",
                "constraint",
                "constraint_message",
                "appearance",
                "or_other",
                "role",
                "service",
                "scale",
                "extra",
            )
        ),
        "choices": list(
            survey.choices.order_by("order").values("list_name", "name", "label", "order", "is_missing", "extra")
        ),
        "settings": survey.form_settings,
    }


def replace(survey: Survey, form: Form, *, actor=None, via: str = "form", note: str = "") -> None:
    """Make `form` the survey's questionnaire, all or nothing, audited.

    Refused once responses exist: their answers are keyed by question name, and a changed
    questionnaire under them would make the analysis read them against other questions."""
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.responses.exists():
            report = ProblemReport(file=note)
            report.add(
                Problem(
                    note,
                    None,
                    None,
                    None,
                    _("the survey already has responses; its questionnaire can no longer be replaced"),
                    _("a new survey for changed questions"),
                )
            )
            raise FormRefused(report)
        before = {"questions": locked.questions.count(), "choices": locked.choices.count(), "version": locked.version}
        locked.questions.all().delete()
        locked.choices.all().delete()
        Question.objects.bulk_create(Question(survey=locked, **values) for values in form.questions)
        Choice.objects.bulk_create(Choice(survey=locked, **values) for values in form.choices)
        locked.form_settings = form.settings
        if form.languages:
            locked.languages = [
                code for code in form.languages if not locked.languages or code in locked.languages
            ] or form.languages
        locked.version += 1
        locked.save(update_fields=["form_settings", "languages", "version"])
        record(
            "update",
            locked,
            actor=actor,
            via=via,
            note=note or _("questionnaire replaced"),
            before=before,
            after={"questions": len(form.questions), "choices": len(form.choices), "version": locked.version},
        )
    survey.refresh_from_db()


# ----------------------------------------------------------------------------------------
# Writing


def _language_header(base: str, code: str) -> str:
    return f"{base}::{LANGUAGE_NAMES.get(code, code)} ({code})"


def form_of(survey: Survey) -> Form:
    """The stored questionnaire as a Form, to change and check before storing it again."""
    state = questionnaire_state(survey)
    return Form(
        questions=state["questions"],
        choices=state["choices"],
        settings=dict(survey.form_settings),
        languages=list(survey.languages),
    )


def check(form: Form, file: str = "") -> Form:
    """Run a changed Form through every rule an uploaded workbook must pass."""
    return parse(sheets_of(form.questions, form.choices, form.settings), file)


def sheets_of(
    questions: list[dict], choices: list[dict], form_settings: dict, languages: list[str] | None = None
) -> dict[str, Sheet]:
    """Questions and choices (as stored) laid out as the XLSForm sheets they came from."""
    if languages is None:
        used = {code for q in questions for key in TRANSLATED for code in q[key]}
        used |= {code for c in choices for code in c["label"]}
        languages = [code for code in settings.LANGUAGE_CODES if code in used]
    survey_extra = list(dict.fromkeys(column for q in questions for column in q["extra"]))
    choice_extra = list(dict.fromkeys(column for c in choices for column in c["extra"]))

    survey_header = ["type", "name"]
    survey_header += [_language_header(base, code) for base in ("label", "hint") for code in languages]
    survey_header += ["required", "relevant", "constraint"]
    survey_header += [_language_header("constraint_message", code) for code in languages]
    survey_header += ["appearance", "municipium_role", "municipium_service"]
    if any(q.get("scale") for q in questions):
        survey_header += ["municipium_scale", "municipium_satisfied"]
    survey_header += survey_extra
    survey_rows = []
    for q in questions:
        row = {
            "type": (f"{q['kind']} {q['list_name']}" if q["list_name"] else q["kind"])
            + (" or_other" if q.get("or_other") else ""),
            "name": q["name"],
            "required": "yes" if q["required"] else "",
            "relevant": q["relevant"],
            "constraint": q["constraint"],
            "appearance": q["appearance"],
            "municipium_role": q["role"],
            "municipium_service": q["service"],
            **dict(zip(("municipium_scale", "municipium_satisfied"), scale_text(q.get("scale") or {}), strict=True)),
            **q["extra"],
        }
        for base in TRANSLATED:
            for code in languages:
                row[_language_header(base, code)] = q[base].get(code, "")
        survey_rows.append(row)

    choice_header = [
        "list_name",
        "name",
        *[_language_header("label", code) for code in languages],
        "municipium_missing",
        *choice_extra,
    ]
    choice_rows = []
    for c in choices:
        row = {
            "list_name": c["list_name"],
            "name": c["name"],
            "municipium_missing": "yes" if c["is_missing"] else "",
            **c["extra"],
        }
        row.update({_language_header("label", code): c["label"].get(code, "") for code in languages})
        choice_rows.append(row)

    def sheet(name, header, rows):
        return Sheet(
            name,
            header,
            [(number, {k: str(row.get(k, "")) for k in header}) for number, row in enumerate(rows, start=2)],
        )

    return {
        "survey": sheet("survey", survey_header, survey_rows),
        "choices": sheet("choices", choice_header, choice_rows),
        "settings": sheet("settings", list(form_settings), [form_settings]),
    }


def export(survey: Survey) -> bytes:
    """The questionnaire as an XLSForm workbook (.xlsx) that ODK, KoboToolbox and our own
    importer read back to the same questions and choices."""
    import xlsxwriter

    form = form_of(survey)
    stored = {SETTING_ALIASES.get(k.strip().lower(), k): v for k, v in form.settings.items()}
    names = [(c["list_name"], c["name"]) for c in form.choices]
    if len(set(names)) < len(names):
        # Repeated names under a choice_filter: pyxform asks for the setting that allows them.
        stored.setdefault("allow_choice_duplicates", "yes")
    form_settings = {"form_id": survey.code, "version": str(survey.version), **stored}
    if "form_title" not in form_settings:
        from municipium.lib.texts import pick

        form_settings["form_title"] = pick(survey.title).text or survey.code
    code = form_settings.get("default_language") or (survey.languages[0] if survey.languages else "")
    if code in LANGUAGE_NAMES:
        form_settings["default_language"] = f"{LANGUAGE_NAMES[code]} ({code})"
    sheets = sheets_of(form.questions, form.choices, form_settings)

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    bold = workbook.add_format({"bold": True})
    for name in SHEETS:
        sheet, worksheet = sheets[name], workbook.add_worksheet(name)
        worksheet.write_row(0, 0, sheet.header, bold)
        worksheet.freeze_panes(1, 0)
        for number, row in sheet.rows:
            # Text cells throughout: a choice named "1" must come back as "1", not 1.0.
            for column, key in enumerate(sheet.header):
                if row[key] != "":
                    worksheet.write_string(number - 1, column, row[key])
        worksheet.set_column(0, max(len(sheet.header) - 1, 0), 18)
    workbook.close()
    return buffer.getvalue()
