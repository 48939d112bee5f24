"""Minutes and decisions, and the consultation report, as PDF in the reader's language,
through the one PDF shell (`lib/pdf.py`: static files and data URIs only)."""

from django.template.loader import render_to_string
from django.utils import translation

from municipium.lib.pdf import STYLESHEET, pdf_bytes

from . import links, services


def _render(template: str, context: dict) -> bytes:
    html = render_to_string(
        template,
        {
            **context,
            "stylesheet": STYLESHEET,
            "rtl": translation.get_language_bidi(),
            "language": translation.get_language(),
        },
    )
    return pdf_bytes(html)


def minutes_pdf(meeting, user) -> bytes:
    agenda = [{"item": i, "link": links.describe(i, user)} for i in meeting.agenda.select_related("review_of")]
    return _render(
        "meetings/print_minutes.html",
        {
            "meeting": meeting,
            "body": meeting.body,
            "agenda": agenda,
            "attendance": meeting.attendance.select_related("member"),
            "quorum": services.quorum(meeting),
            "decisions": meeting.decisions.select_related("owner", "owner_unit"),
        },
    )


def consultation_pdf(consultation, summary: dict) -> bytes:
    return _render("meetings/print_consultation.html", {"consultation": consultation, "summary": summary})
