"""Import of response exports from KoboToolbox/ODK and LimeSurvey (CSV).

A survey run partly in another tool comes back as that tool's CSV export. The file is read
with the observation importer's decoder and delimiter sniffer (UTF-8 with or without BOM,
cp1250/1251/1257; `;`, `,` or tab), its columns matched to the questionnaire, and every
row checked by `answers.check` like any web answer. The preview lists every problem by row
and column; the commit re-reads exactly the previewed file (its SHA-256) and stores all rows
or none. A file already imported into the survey is refused.

Only answers to the questionnaire's questions are stored, with the file's SHA-256 and the
row number: the tools' identifying columns (`_uuid`, IP address, names, e-mail, device ids)
are recognised and left out.

KoboToolbox and ODK name columns by question name, with the group path before it
(`water/sat_water`, ODK Central `water-sat_water`), multiple choices as space-separated
choice names (and optionally one 0/1 column per choice: `channels/phone`), and times in
`start`, `end`, `_submission_time` or `SubmissionDate`. LimeSurvey's export with question
codes as headings has `id`, `submitdate`, `startdate`, `startlanguage`, answer codes in the
cells and one `Y` column per option of a multiple choice: `channels[phone]`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record
from municipium.lib.numbers import format_number
from municipium.lib.tabular import Problem, ProblemReport, decode, sniff_delimiter

from . import answers
from .models import Question, Response, Survey

# Columns the tools add that are not answers. Some identify the person or the device and
# must never be stored; none of them is needed once the response is in.
KOBO_META = {
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
    "instanceid",
    "instancename",
    "submissiondate",
    "key",
    "submitterid",
    "submittername",
    "attachmentspresent",
    "attachmentsexpected",
    "status",
    "reviewstate",
    "edits",
    "formversion",
    "meta/instanceid",
    "meta-instanceid",
    "meta/instancename",
    "formhub/uuid",
    "meta/deprecatedid",
}
LIME_META = {
    "id",
    "submitdate",
    "lastpage",
    "startlanguage",
    "seed",
    "startdate",
    "datestamp",
    "ipaddr",
    "refurl",
    "token",
    "firstname",
    "lastname",
    "email",
    "interviewtime",
    "optout",
    "emailstatus",
    "language",
}
IDENTIFYING = {
    "_uuid",
    "_id",
    "_submitted_by",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "submitterid",
    "submittername",
    "ipaddr",
    "refurl",
    "token",
    "firstname",
    "lastname",
    "instanceid",
    "meta/instanceid",
    "meta-instanceid",
    "formhub/uuid",
    "_geolocation",
    "_attachments",
}
STRATUM_COLUMNS = {"stratum", "_stratum"}
# LimeSurvey exports the time spent per group and question when timings are on.
LIME_TIMING = re.compile(r"^(grouptime\d+|.+time)$")
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y",
)


def max_bytes() -> int:
    return getattr(settings, "SURVEY_IMPORT_MAX_BYTES", 20 * 1024 * 1024)


@dataclass
class Column:
    index: int
    header: str
    # What the column holds: "answer" (question), "option" (one choice of a multiple choice),
    # "meta" (tool's own), "stratum".
    role: str
    question: str = ""
    choice: str = ""


@dataclass
class ResponseImport:
    report: ProblemReport
    tool: str = ""
    columns: list[Column] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    # Identifying columns found in the file and left out.
    left_out: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def answer_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.role in ("answer", "option")]

    def preview(self, rows: int = 10) -> list[list[str]]:
        names = [c.question for c in self.columns if c.role == "answer"]
        out = []
        for response in self.responses[:rows]:
            out.append([" ".join(v) if isinstance(v := response.answers.get(n, ""), list) else str(v) for n in names])
        return out

    @property
    def preview_header(self) -> list[str]:
        return [c.question for c in self.columns if c.role == "answer"]


def _problem(result: ResponseImport, row: int | None, column: str | None, message: str, expected: str = "") -> None:
    result.report.add(Problem(result.report.file, None, row, column, message, expected))


def _key(header: str) -> str:
    return header.replace("\ufeff", "").strip()


def _question_for(header: str, questionnaire: answers.Questionnaire) -> str | None:
    """The question a Kobo/ODK column answers: its name, or its name after group paths."""
    if header in questionnaire.by_name:
        return header
    rest = header
    while True:
        for separator in ("/", "-", "."):
            head, sep, tail = rest.partition(separator)
            if sep and head in questionnaire.group_names:
                rest = tail
                break
        else:
            break
        if rest in questionnaire.by_name:
            return rest
    last = re.split(r"[/]", header)[-1]
    return last if last in questionnaire.by_name and "/" in header else None


def _option_for(header: str, questionnaire: answers.Questionnaire, tool: str) -> tuple[str, str] | None:
    """(question, choice) for a column holding one option of a multiple choice."""
    if tool == "limesurvey":
        match = re.fullmatch(r"(.+)\[(.+)\]", header)
        candidates = [(match.group(1), match.group(2))] if match else []
    else:
        candidates = [(header.rsplit(sep, 1)[0], header.rsplit(sep, 1)[1]) for sep in ("/", "-", ".") if sep in header]
    for path, choice in candidates:
        name = path if path in questionnaire.by_name else _question_for(path, questionnaire)
        question = questionnaire.by_name.get(name or "")
        if question is not None and question.kind == Question.Kind.SELECT_MULTIPLE:
            return question.name, choice
    return None


def _columns(header: list[str], questionnaire, result: ResponseImport) -> None:
    keys = [_key(h) for h in header]
    lowered = {k.casefold() for k in keys}
    result.tool = "limesurvey" if {"submitdate", "startlanguage"} & lowered else "kobo"
    meta = LIME_META if result.tool == "limesurvey" else KOBO_META
    seen: dict[str, str] = {}
    for index, key in enumerate(keys):
        low = key.casefold()
        name = (
            _question_for(key, questionnaire)
            if result.tool == "kobo"
            else (key if key in questionnaire.by_name else None)
        )
        if name:
            if name in seen:
                _problem(
                    result,
                    1,
                    key,
                    _("the question “%(name)s” has a second column (the first is “%(first)s”)")
                    % {"name": name, "first": seen[name]},
                    _("one column per question"),
                )
            seen[name] = key
            result.columns.append(Column(index, key, "answer", name))
            continue
        option = _option_for(key, questionnaire, result.tool)
        if option:
            result.columns.append(Column(index, key, "option", option[0], option[1]))
            continue
        if low in STRATUM_COLUMNS:
            result.columns.append(Column(index, key, "stratum"))
            continue
        if (
            low in meta
            or low.startswith("_")
            or (result.tool == "limesurvey" and (low.startswith("attribute_") or LIME_TIMING.match(low)))
        ):
            result.columns.append(Column(index, key, "meta"))
            if low in IDENTIFYING or low.startswith("attribute_"):
                result.left_out.append(key)
            continue
        if not key:
            _problem(
                result,
                1,
                _("column %(number)s") % {"number": index + 1},
                _("the column has no heading"),
                _("a question name in every heading"),
            )
            continue
        _problem(
            result,
            1,
            key,
            _("“%(column)s” is not a question of this questionnaire") % {"column": key},
            _("question names: %(names)s") % {"names": ", ".join(sorted(questionnaire.by_name))[:300]},
        )
    # Option columns stand in for their question only when the file has no column for it.
    answered = {c.question for c in result.columns if c.role == "answer"}
    for column in result.columns:
        if column.role == "option" and column.question in answered:
            column.role = "meta"


def _time(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def _cell(row: list[str], header: list[str], name: str) -> tuple[str, str] | None:
    """(header as written, value) of the first meta column with this name (any case)."""
    for index, column in enumerate(header):
        if _key(column).casefold() == name and index < len(row):
            return _key(column), row[index]
    return None


def _times(row, header, tool, result, number) -> tuple[dt.date | None, int | None]:
    if tool == "limesurvey":
        started, ended, submitted = "startdate", "submitdate", "submitdate"
    else:
        started, ended = "start", "end"
        submitted = next(
            (n for n in ("_submission_time", "submissiondate", "end", "today") if _cell(row, header, n) is not None),
            "end",
        )
    values = {}
    for name in {started, ended, submitted}:
        found = _cell(row, header, name)
        if found is None or not found[1].strip():
            values[name] = None
            continue
        parsed = _time(found[1])
        if parsed is None:
            _problem(
                result,
                number,
                found[0],
                _("“%(value)s” is not a date and time") % {"value": found[1][:40]},
                _("like 2025-05-03 10:15:00 or 2025-05-03T10:15:00+02:00"),
            )
        values[name] = parsed
    if tool == "limesurvey" and _cell(row, header, "submitdate") is not None and values["submitdate"] is None:
        found = _cell(row, header, "submitdate")
        if not found[1].strip():
            _problem(
                result,
                number,
                found[0],
                _("the response is incomplete (it has no submit date)"),
                _("an export of completed responses only"),
            )
    duration = None
    timed = _cell(row, header, "interviewtime") if tool == "limesurvey" else None
    if timed and timed[1].strip():
        try:
            duration = max(0, round(float(timed[1].replace(",", "."))))
        except ValueError:
            duration = None
    start, end = values.get(started), values.get(ended)
    if duration is None and start and end and (start.tzinfo is None) == (end.tzinfo is None):
        seconds = (end - start).total_seconds()
        duration = round(seconds) if seconds >= 0 else None
    day = values.get(submitted) or end
    return (day.date() if day else None), duration


def read(survey: Survey, data: bytes, name: str) -> ResponseImport:
    """Check a file against the survey; the unsaved responses are in the result."""
    report = ProblemReport(file=name, size=len(data))
    result = ResponseImport(report)
    if len(data) > max_bytes():
        _problem(
            result,
            None,
            None,
            _("the file is %(size)s MB, larger than the %(limit)s MB accepted for responses")
            % {"size": format_number(len(data) / 1048576, 1), "limit": format_number(max_bytes() / 1048576, 0)},
            _("export fewer responses at a time"),
        )
        return result
    report.sha256 = hashlib.sha256(data).hexdigest()
    report.format = "csv"
    if Response.objects.filter(survey=survey, source=report.sha256).exists():
        _problem(
            result,
            None,
            None,
            _("this file has already been imported into this survey"),
            _("a new export, with the responses not yet imported"),
        )
        return result
    if data[:4] == b"PK\x03\x04" or b"\x00" in data[:4096]:
        _problem(
            result,
            None,
            None,
            _("the file is not a CSV text file"),
            _("the tool's CSV export (KoboToolbox: XML values and headers; LimeSurvey: question codes)"),
        )
        return result
    try:
        text, report.encoding = decode(data)
    except (UnicodeDecodeError, LookupError) as error:
        _problem(result, None, None, _("the file cannot be read as text: %(error)s") % {"error": error})
        return result
    report.delimiter = sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=report.delimiter))
    except csv.Error as error:
        _problem(result, None, None, _("the file is not valid CSV: %(error)s") % {"error": error})
        return result
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        _problem(result, None, None, _("the file has no responses"), _("a heading row and one row per response"))
        return result
    header = rows[0]
    questionnaire = answers.Questionnaire.of(survey)
    _columns(header, questionnaire, result)
    if not report.ok:
        return result
    by_question = {c.question: c.header for c in result.columns if c.role in ("answer", "option")}
    language_cell = "startlanguage" if result.tool == "limesurvey" else None
    for number, row in enumerate(rows[1:], start=2):
        report.rows += 1
        if len(row) != len(header):
            _problem(
                result,
                number,
                None,
                ngettext(
                    "the row has %(found)s field, the heading %(expected)s",
                    "the row has %(found)s fields, the heading %(expected)s",
                    len(row),
                )
                % {"found": format_number(len(row), 0), "expected": format_number(len(header), 0)},
                _("one field per column"),
            )
            continue
        raw: dict = {}
        stratum = ""
        for column in result.columns:
            value = row[column.index].strip()
            if column.role == "answer" and value:
                raw[column.question] = value
            elif column.role == "option" and value.casefold() in {"1", "y", "yes", "true"}:
                raw.setdefault(column.question, []).append(column.choice)
            elif column.role == "option" and value and value.casefold() not in {"0", "n", "no", "false"}:
                _problem(
                    result,
                    number,
                    column.header,
                    _("“%(value)s” does not say whether the option was chosen") % {"value": value[:40]},
                    "1/0, Y/N",
                )
            elif column.role == "stratum":
                stratum = value[:64]
        day, duration = _times(row, header, result.tool, result, number)
        checked = answers.check(questionnaire, raw, numbers_in="en")
        for error in checked.errors:
            _problem(result, number, by_question.get(error.question, error.question), error.message)
        language = ""
        if language_cell and (found := _cell(row, header, language_cell)):
            language = found[1].strip()[:8] if found[1].strip() in dict(settings.LANGUAGES) else ""
        result.responses.append(
            Response(
                survey=survey,
                mode=Response.Mode.IMPORT,
                language=language,
                stratum=stratum,
                answers=checked.answers,
                submitted_on=day or dt.date.today(),
                duration_seconds=duration,
                source=report.sha256,
                source_row=number,
            )
        )
    return result


def commit(survey: Survey, data: bytes, name: str, *, expected_sha256: str, actor) -> ResponseImport:
    """Store the previewed file's responses, all or none."""
    with transaction.atomic():
        # One import into a survey at a time: the duplicate check below must see the other's rows.
        Survey.objects.select_for_update().filter(pk=survey.pk).first()
        result = read(survey, data, name)
        if result.report.sha256 and result.report.sha256 != expected_sha256:
            _problem(result, None, None, _("the file is not the one that was checked"), _("check the file again"))
        if not result.ok:
            return result
        Response.objects.bulk_create(result.responses)
        record(
            "survey.responses_imported",
            survey,
            actor=actor,
            via="import",
            after={
                "file": name,
                "sha256": result.report.sha256,
                "responses": len(result.responses),
                "tool": result.tool,
                "left_out": result.left_out,
            },
        )
        result.committed = True
    return result
