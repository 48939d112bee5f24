"""Minutes and decisions, and the consultation report, as PDF in the reader's language,
through the one PDF shell (`lib/pdf.py`: static files and data URIs only)."""

from municipium.lib.pdf import printed as _render

from . import links, services


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
