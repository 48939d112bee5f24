"""Every change to agreements, obligations, documents and facilities: checked, in one
transaction, audited. A refusal is a `CooperationError` naming the field."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from municipium.audit.models import record, snapshot

from .models import Agreement, Document, Facility, Obligation, Participant, Party

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


def save_facility(actor, facility: Facility) -> Facility:
    for field, value in (
        ("capital_cost", facility.capital_cost),
        ("fixed_opex", facility.fixed_opex),
        ("variable_opex", facility.variable_opex),
        ("scale_fixed", facility.scale_fixed),
        ("scale_unit", facility.scale_unit),
    ):
        if value is None or value < 0:
            raise CooperationError(_("A cost cannot be negative."), field)
    if not (0 <= facility.interest_rate < 1):
        raise CooperationError(_("Write the interest rate as a fraction, e.g. 0.04 for 4 %."), "interest_rate")
    if not (0 < facility.scale_exponent <= 1.5):
        raise CooperationError(
            _("The economies of scale exponent lies between 0 and 1.5 (0.6–0.8 is usual)."), "scale_exponent"
        )
    before = snapshot(Facility.objects.get(pk=facility.pk)) if facility.pk else None
    with transaction.atomic():
        facility.save()
        _audit("update" if before else "create", facility, actor, before)
    return facility


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
    once (claimed with a conditional UPDATE, as the other reminders). Returns (sent, failed)."""
    import logging
    import smtplib

    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import translation

    from municipium.accounts.models import Role

    log = logging.getLogger(__name__)
    today = today or timezone.localdate()
    sent = failed = 0
    due = Obligation.objects.filter(status=Obligation.Status.OPEN, due__lt=today, overdue_reminded__isnull=True)
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
        try:
            with transaction.atomic():
                if not Obligation.objects.filter(pk=obligation.pk, overdue_reminded__isnull=True).update(
                    overdue_reminded=timezone.now()
                ):
                    continue
                with translation.override(settings.LANGUAGE_CODE):
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
                sent += 1
        except (smtplib.SMTPException, OSError):
            log.exception("overdue reminder for obligation %s could not be sent", obligation.pk)
            failed += 1
    return sent, failed
