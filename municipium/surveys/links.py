"""Single-use personal links: one for each sampled contact, one response per link.

Only the SHA-256 of a link's token is stored, so the token exists in clear only in the
moment it is issued: in the mail-merge file the coordinator downloads or in the e-mail sent.
Someone who reads the database (a backup, an administrator) can neither answer in another
person's name nor tell from a response which link it came through: `use` deletes the link
in the same transaction that creates the response, leaving only one more in its stratum's
count (`UsedLinks`), and `issue` creates links in random order, so the ids of the links
still waiting do not tell the frame's order either (issue 20, README: Privacy).
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass

import xlsxwriter
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from municipium.audit.models import record
from municipium.lib.tabular import SAFE_WORKBOOK, csv_bytes
from municipium.lib.tokens import digest

from .models import Contact, Link, Response, UsedLinks

hash_token = digest


def find(token: str) -> Link | None:
    """The unused link this token opens, or None (unknown, forged and used alike)."""
    if not token or len(token) > 100:
        return None
    return Link.objects.filter(token_hash=hash_token(token)).select_related("survey").first()


def is_email(address: str) -> bool:
    try:
        validate_email(address.strip())
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Issued:
    """A link as issued: the only moment its token is known."""

    contact: Contact
    token: str


def _targets(survey, *, reissue: bool, emails_only: bool):
    contacts = (
        Contact.objects.filter(frame__survey=survey, sampled=True)
        .select_related("link")
        .order_by("frame_id", "position")
    )
    for contact in contacts:
        if emails_only and not is_email(contact.address):
            continue
        link = getattr(contact, "link", None)
        if link is None and contact.link_issued:
            continue  # its link was used and deleted: that person has answered
        if link is None or reissue:
            yield contact, link


@transaction.atomic
def issue(survey, actor, *, reissue: bool = False, emails_only: bool = False, note: str = "") -> list[Issued]:
    """New links for the sampled contacts that have none; with `reissue`, also a fresh token
    for every unused link (the old one stops working: its address was lost, or a letter went
    astray). Links already used are never touched."""
    issued: list[Issued] = []
    created = replaced = 0
    targets = list(_targets(survey, reissue=reissue, emails_only=emails_only))
    # Created in random order: ids handed out in the frame's order would tell, for each
    # link, whose it was, and the gaps left by used links who has answered which (issue 20).
    secrets.SystemRandom().shuffle(targets)
    for contact, link in targets:
        token = secrets.token_urlsafe(24)
        if link is None:
            Link.objects.create(
                survey=survey,
                contact=contact,
                token_hash=hash_token(token),
                stratum=contact.stratum,
                inclusion_probability=contact.inclusion_probability,
            )
            contact.link_issued = True
            contact.save(update_fields=["link_issued"])
            created += 1
        else:
            link.token_hash = hash_token(token)
            link.save(update_fields=["token_hash"])
            replaced += 1
        issued.append(Issued(contact, token))
    for stratum in {item.contact.stratum for item in issued}:
        # The counter exists before the first use, so `use` only ever increments it.
        UsedLinks.objects.get_or_create(survey=survey, stratum=stratum)
    # The mail-merge file and the e-mails follow the frame, as the coordinator knows it.
    issued.sort(key=lambda item: (item.contact.frame_id, item.contact.position))
    if issued:
        record("survey.links_issued", survey, actor=actor, after={"created": created, "replaced": replaced}, note=note)
        survey.advance(survey.Step.FIELDWORK)
    return issued


def mail_merge_rows(issued: list[Issued], url_for) -> list[list[str]]:
    header = [_("address"), _("stratum"), _("personal link")]
    return [header] + [[item.contact.address, item.contact.stratum, url_for(item.token)] for item in issued]


def as_csv(rows: list[list[str]]) -> bytes:
    # UTF-8 with a byte-order mark: Excel then opens Cyrillic and Persian addresses correctly.
    # An address that reads "=HYPERLINK(...)" must not become a live link that sends the
    # person's survey link away when the file is opened (issue 20).
    return csv_bytes(rows, delimiter=";", bom=True)


def as_xlsx(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, SAFE_WORKBOOK)
    sheet = workbook.add_worksheet(_("Links")[:31])
    bold = workbook.add_format({"bold": True})
    for r, row in enumerate(rows):
        sheet.write_row(r, 0, row, bold if r == 0 else None)
    sheet.set_column(0, 0, 36)
    sheet.set_column(2, 2, 70)
    workbook.close()
    return out.getvalue()


def send(issued: list[Issued], url_for, *, subject: str, message: str) -> int:
    """E-mail each personal link; `message` holds `{link}` where the link goes. Returns how
    many were sent. Addresses that are not e-mail addresses are skipped."""
    sent = 0
    for item in issued:
        if not is_email(item.contact.address):
            continue
        body = message.replace("{link}", url_for(item.token))
        sent += send_mail(subject, body, None, [item.contact.address.strip()])
    return sent


def use(link: Link, *, answers: dict, language: str, duration_seconds: int | None, today: dt.date | None = None):
    """Store a respondent's answers and spend the link, both or neither. Returns the
    response, or None when the link was spent meanwhile (a second tab, a double click): the
    DELETE lets exactly one of two concurrent submissions through.

    The link is deleted, not marked: a used link that kept its date, stratum or contact
    could be matched to the response. Only its stratum's count of used links goes up.
    """
    today = today or dt.date.today()
    with transaction.atomic():
        spent, _deleted = Link.objects.filter(pk=link.pk).delete()
        if spent != 1:
            return None
        counted = UsedLinks.objects.filter(survey_id=link.survey_id, stratum=link.stratum).update(count=F("count") + 1)
        if not counted:  # a link issued before the counters existed
            UsedLinks.objects.create(survey_id=link.survey_id, stratum=link.stratum, count=1)
        return Response.objects.create(
            survey_id=link.survey_id,
            mode=Response.Mode.WEB,
            language=language,
            stratum=link.stratum,
            inclusion_probability=link.inclusion_probability,
            answers=answers,
            submitted_on=today,
            duration_seconds=duration_seconds,
        )
