"""The sampling frame and the draw: importing the list of users and choosing whom to ask.

The statistics (how many, which positions, with what probability) come from
`municipium.lib.survey.sample`; this module reads the frame file, stores it all or nothing
and records the draw — method, sizes and seed — so that it can be repeated and checked.
A frame or draw cannot change once personal links exist: the inclusion probabilities the
weighting will rely on would no longer describe how respondents were chosen.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record
from municipium.lib.numbers import format_number
from municipium.lib.survey import sample
from municipium.lib.tabular import (
    EXCEL_FORMATS,
    Problem,
    ProblemReport,
    cell_text,
    claimed_format,
    decode,
    open_workbook,
    sniff_delimiter,
)

from .models import Contact, Frame, Survey

# A frame is a list of households or connections: a large city has a few hundred thousand.
MAX_FRAME_BYTES = 50 * 1024 * 1024
MAX_FRAME_ROWS = 1_000_000
MAX_PROBLEMS_SHOWN = 100


class SamplingRefused(Exception):
    def __init__(self, report: ProblemReport):
        super().__init__("; ".join(str(p) for p in report.problems))
        self.report = report


def _refuse(name: str, message: str, expected: str = "", row: int | None = None, column: str | None = None):
    report = ProblemReport(file=name)
    report.add(Problem(name, None, row, column, message, expected))
    raise SamplingRefused(report)


def read_rows(data: bytes, name: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """Header and rows (with the row numbers a person sees) of a CSV or workbook frame."""
    if len(data) > MAX_FRAME_BYTES:
        _refuse(
            name,
            _("the file is larger than %(limit)s MB") % {"limit": format_number(MAX_FRAME_BYTES // (1024 * 1024), 0)},
            _("a frame with only the columns the survey needs"),
        )
    if not data.strip():
        _refuse(name, _("the file is empty"), _("a header row and one row per person or household"))
    fmt = claimed_format(name, data)
    if fmt in EXCEL_FORMATS:
        report = ProblemReport(file=name)
        workbook = open_workbook(data, name, fmt, report)
        if workbook is None:
            raise SamplingRefused(report)
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        table = [[(cell_text(cell) or "").strip() for cell in row] for row in rows]
        encoding = ""
    else:
        try:
            text, encoding = decode(data)
        except (UnicodeDecodeError, LookupError) as error:
            _refuse(
                name,
                _("the file cannot be read as text: %(error)s") % {"error": error},
                _("a CSV file in UTF-8, cp1250, cp1251 or cp1257"),
            )
        table = [
            [cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
        ]
    if not table:
        _refuse(name, _("the file is empty"), _("a header row and one row per person or household"))
    header = table[0]
    body = [(number, row) for number, row in enumerate(table[1:], start=2) if any(row)]
    if len(body) > MAX_FRAME_ROWS:
        _refuse(
            name,
            ngettext(
                "the frame has %(rows)s row, more than %(limit)s",
                "the frame has %(rows)s rows, more than %(limit)s",
                len(body),
            )
            % {"rows": format_number(len(body), 0), "limit": format_number(MAX_FRAME_ROWS, 0)},
        )
    return header, body, encoding


def _links_exist(survey: Survey) -> bool:
    return survey.links_sent()


def import_frame(
    survey: Survey, data: bytes, name: str, *, address_column: str, stratum_column: str = "", actor=None
) -> Frame:
    """Store a frame, replacing the survey's earlier one, all or nothing; SamplingRefused lists every problem."""
    header, body, _encoding = read_rows(data, name)
    report = ProblemReport(file=name)
    positions = {}
    for column, label in ((address_column, _("address column")), (stratum_column, _("stratum column"))):
        if not column:
            continue
        matches = [i for i, h in enumerate(header) if h.strip().lower() == column.strip().lower()]
        if not matches:
            report.add(
                Problem(
                    name,
                    None,
                    1,
                    column,
                    _("the file has no %(what)s '%(column)s'") % {"what": label, "column": column},
                    _("one of: %(columns)s") % {"columns": ", ".join(h for h in header if h)},
                )
            )
        else:
            positions[column] = matches[0]
    if not body:
        report.add(
            Problem(
                name, None, None, None, _("the file has a header but no rows"), _("one row per person or household")
            )
        )
    if not report.ok:
        raise SamplingRefused(report)
    address_at = positions[address_column]
    stratum_at = positions.get(stratum_column)
    contacts = []
    for position, (number, row) in enumerate(body):
        cells = row + [""] * (len(header) - len(row))
        address = cells[address_at]
        stratum = cells[stratum_at] if stratum_at is not None else ""
        if not address:
            report.add(
                Problem(name, None, number, address_column, _("the address is empty"), _("how to reach this person"))
            )
        elif len(address) > 255:
            report.add(Problem(name, None, number, address_column, _("the address is longer than 255 characters")))
        if stratum_at is not None and not stratum:
            report.add(
                Problem(name, None, number, stratum_column, _("the stratum is empty"), _("the stratum of every row"))
            )
        elif len(stratum) > 64:
            report.add(Problem(name, None, number, stratum_column, _("the stratum is longer than 64 characters")))
        attributes = {h: v for h, v in zip(header, cells) if h and v and h not in (address_column, stratum_column)}
        contacts.append(Contact(position=position, address=address, stratum=stratum, attributes=attributes))
    if not report.ok:
        raise SamplingRefused(report)
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if _links_exist(locked):
            _refuse(name, _("personal links have been sent from the current frame; it can no longer be replaced"))
        before = [{"filename": f.filename, "size": f.size} for f in locked.frames.all()]
        locked.frames.all().delete()
        frame = Frame.objects.create(
            survey=locked,
            filename=name[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(contacts),
            stratum_column=stratum_column,
            imported_by=_user(actor),
        )
        for contact in contacts:
            contact.frame = frame
        Contact.objects.bulk_create(contacts, batch_size=5000)
        record(
            "create",
            frame,
            actor=actor,
            via="import",
            before={"frames": before},
            after={
                "filename": frame.filename,
                "size": frame.size,
                "stratum_column": stratum_column,
                "address_column": address_column,
            },
        )
    return frame


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def current_frame(survey: Survey) -> Frame | None:
    return survey.frames.order_by("-imported", "-pk").first()


def _refuse_impossible(frame: Frame, strata: list[str], method: str, n: int | None, sizes: dict | None) -> None:
    """The draws a person can ask for that the frame cannot give, refused in their language
    with the counts in it; lib/survey/sample checks the same rules again, in English, for
    programmers."""
    counts = Counter(strata)
    if not strata:
        _refuse(frame.filename, _("the frame is empty: there is nobody to draw"))
    if method in {"simple", "systematic", "proportional"} and isinstance(n, int) and n > len(strata):
        _refuse(
            frame.filename,
            ngettext(
                "a sample of %(n)s is larger than the frame, which has %(size)s person",
                "a sample of %(n)s is larger than the frame, which has %(size)s people",
                len(strata),
            )
            % {"n": format_number(n, 0), "size": format_number(len(strata), 0)},
        )
    if method == "proportional" and isinstance(n, int) and 0 < n < len(counts):
        _refuse(
            frame.filename,
            ngettext(
                "a sample of %(n)s cannot take someone from each of the frame's %(strata)s stratum",
                "a sample of %(n)s cannot take someone from each of the frame's %(strata)s strata",
                len(counts),
            )
            % {"n": format_number(n, 0), "strata": format_number(len(counts), 0)},
        )
    if method == "sizes" and sizes is not None:
        unknown = sorted(set(sizes) - set(counts))
        if unknown:
            _refuse(
                frame.filename,
                _("these strata are not in the frame: %(strata)s") % {"strata": ", ".join(unknown)},
                _("the strata of the frame: %(strata)s") % {"strata": ", ".join(sorted(counts))},
            )
    for stratum, want in (sizes or {}).items() if method == "sizes" else ():
        if stratum in counts and isinstance(want, int) and want > counts[stratum]:
            _refuse(
                frame.filename,
                ngettext(
                    "%(n)s cannot be drawn from the stratum “%(stratum)s”: it has %(size)s person",
                    "%(n)s cannot be drawn from the stratum “%(stratum)s”: it has %(size)s people",
                    counts[stratum],
                )
                % {"n": format_number(want, 0), "stratum": stratum, "size": format_number(counts[stratum], 0)},
            )


def draw(
    frame: Frame, method: str, *, n: int | None = None, sizes: dict | None = None, seed: int | None = None, actor=None
) -> sample.Draw:
    """Draw the sample and store who was chosen and with what probability, audited.

    `method` is simple, systematic, proportional (stratified, n split by stratum size) or
    sizes (stratified with a set size per stratum). Statistical refusals (a sample larger
    than the frame, an unknown stratum) come back as SamplingRefused with the reason."""
    strata = list(frame.contacts.order_by("position").values_list("stratum", flat=True))
    _refuse_impossible(frame, strata, method, n, sizes)
    try:
        if method == "simple":
            result = sample.draw_simple(len(strata), n, seed=seed)
        elif method == "systematic":
            result = sample.draw_systematic(len(strata), n, seed=seed)
        elif method in {"proportional", "sizes"}:
            if not frame.stratum_column:
                _refuse(
                    frame.filename,
                    _("the frame has no stratum column; import it again with one, or draw without strata"),
                )
            result = sample.draw_stratified(
                strata, n=n if method == "proportional" else None, sizes=sizes if method == "sizes" else None, seed=seed
            )
        else:
            _refuse(frame.filename, _("unknown method '%(method)s'") % {"method": method})
    except ValueError as error:
        _refuse(frame.filename, _("the sample cannot be drawn: %(reason)s") % {"reason": error})
    chosen = dict(zip(result.positions.tolist(), result.probabilities.tolist(), strict=True))
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=frame.survey_id)
        if _links_exist(locked):
            _refuse(
                frame.filename, _("personal links have been sent from this sample; it can no longer be drawn again")
            )
        before = frame.draw or None
        # A few UPDATEs over groups of contacts sharing a value, not one CASE row per contact:
        # bulk_update of a few thousand contacts took seconds.
        if result.stratum_sizes is not None:
            rates = {s: result.allocation[s] / result.stratum_sizes[s] for s in result.stratum_sizes}
            for stratum, rate in rates.items():
                frame.contacts.filter(stratum=stratum).update(sampled=False, inclusion_probability=rate)
        else:
            # Not chosen in a one-stratum design: the probability every unit had.
            frame.contacts.update(sampled=False, inclusion_probability=len(chosen) / len(strata))
            by_probability: dict[float, list[int]] = {}
            for position, probability in chosen.items():
                by_probability.setdefault(probability, []).append(position)
            for probability, positions in by_probability.items():
                for start in range(0, len(positions), 900):  # SQLite's limit on query parameters
                    frame.contacts.filter(position__in=positions[start : start + 900]).update(
                        inclusion_probability=probability
                    )
        positions = sorted(chosen)
        for start in range(0, len(positions), 900):
            frame.contacts.filter(position__in=positions[start : start + 900]).update(sampled=True)
        frame.draw = {
            "method": method,
            "seed": result.seed,
            "n": int(len(chosen)),
            "sizes": {str(k): int(v) for k, v in (result.allocation or {}).items()} or None,
            "interval": result.interval,
            "start": result.start,
            "drawn": timezone.now().isoformat(),
            "by": getattr(_user(actor), "username", ""),
        }
        frame.save(update_fields=["draw"])
        record(
            "update",
            frame,
            actor=actor,
            via="form",
            note=_("sample drawn"),
            before={"draw": before},
            after={"draw": frame.draw},
        )
        frame.survey.advance(frame.survey.Step.SAMPLE)
    return result


@dataclass(frozen=True)
class StratumRow:
    stratum: str
    frame_size: int
    sample_size: int
    probability: float | None


def summary(frame: Frame) -> list[StratumRow]:
    """Frame size, sample size and inclusion probability per stratum (one row without strata)."""
    sizes = Counter()
    sampled = Counter()
    probability = {}
    for stratum, is_sampled, p in frame.contacts.values_list("stratum", "sampled", "inclusion_probability"):
        sizes[stratum] += 1
        if is_sampled:
            sampled[stratum] += 1
        if p is not None:
            probability[stratum] = p
    return [StratumRow(s, sizes[s], sampled[s], probability.get(s)) for s in sorted(sizes)]


def stratum_sizes(frame: Frame | None) -> dict[str, int]:
    if frame is None or not frame.stratum_column:
        return {}
    return dict(sorted(Counter(frame.contacts.values_list("stratum", flat=True)).items()))
