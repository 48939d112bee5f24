"""Working bodies, their meetings and decisions, and public consultations.

A *body* is a set of people (a city's working group, an exchange group's meeting series, a
mayors' forum), attached to one unit or one group of units; it is not a `places.Group`,
which is a set of units. The planning modules (plans, cooperation, social-service planning)
reuse these models: their decisions are taken at meetings, their drafts go to consultation.

What is public and what is internal (the rule is in `meetings.access`):
- bodies (mandate, appointing act, members) and the date, place and agenda of meetings are
  public, as a council publishes them;
- minutes, attendance and decisions are internal until the body's secretary publishes the
  meeting's minutes; members read them before;
- a consultation is public from its opening day once published; comments are public once
  moderated.
"""

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A body, like a role, belongs to exactly one unit or one group.
ONE_SCOPE = (Q(unit__isnull=False) & Q(group__isnull=True)) | (Q(unit__isnull=True) & Q(group__isnull=False))


class Body(models.Model):
    class Kind(models.TextChoices):
        WORKING_GROUP = "working_group", _("Working group")
        EXCHANGE_SERIES = "exchange_series", _("Exchange-group meetings")
        MAYORS_FORUM = "mayors_forum", _("Mayors' forum")
        CONSULTATIVE = "consultative", _("Consultative group")
        COUNCIL_COMMITTEE = "council_committee", _("Council committee")

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    kind = models.CharField(_("Kind"), max_length=24, choices=Kind.choices)
    unit = models.ForeignKey(
        "places.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="bodies", verbose_name=_("Unit")
    )
    group = models.ForeignKey(
        "places.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="bodies", verbose_name=_("Group")
    )
    appointed_by = models.CharField(_("Appointed by"), max_length=200, blank=True, default="")
    act_number = models.CharField(_("Number of the appointing act"), max_length=64, blank=True, default="")
    act_date = models.DateField(_("Date of the appointing act"), null=True, blank=True)
    mandate = models.TextField(_("Mandate"), blank=True, default="")
    themes = models.CharField(_("Themes"), max_length=255, blank=True, default="")
    service_areas = models.ManyToManyField(
        "catalog.ServiceArea", blank=True, related_name="bodies", verbose_name=_("Service areas")
    )
    term_start = models.DateField(_("Term from"), null=True, blank=True)
    term_end = models.DateField(_("Term until"), null=True, blank=True)
    quorum = models.PositiveSmallIntegerField(
        _("Quorum"),
        null=True,
        blank=True,
        help_text=_("How many members must be present; empty: more than half of the members."),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "code"]
        constraints = [
            models.CheckConstraint(condition=ONE_SCOPE, name="body_one_scope"),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True)
                | Q(term_start__isnull=True)
                | Q(term_end__gte=models.F("term_start")),
                name="body_term_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self):
        return self.unit or self.group

    def quorum_needed(self) -> int:
        """The declared quorum, or more than half of the current members."""
        if self.quorum:
            return self.quorum
        return self.members.count() // 2 + 1


class Member(models.Model):
    """A person on a body, with or without an account."""

    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        SECRETARY = "secretary", _("Secretary")
        MEMBER = "member", _("Member")

    class Kind(models.TextChoices):
        COUNCIL = "council", _("Council")
        ADMINISTRATION = "administration", _("Administration")
        UTILITY = "utility", _("Utility")
        PARTNER = "partner", _("Partner")
        CITIZEN = "citizen", _("Citizen")

    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("Name"), max_length=200)
    role = models.CharField(_("Role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    affiliation = models.CharField(_("Affiliation"), max_length=200, blank=True, default="")
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, default=Kind.ADMINISTRATION)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="body_memberships",
        verbose_name=_("Account"),
    )

    class Meta:
        ordering = ["body", "role", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "user"], condition=Q(user__isnull=False), name="member_one_account_per_body"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Meeting(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(_("Title"), max_length=200, blank=True, default="")
    starts = models.DateTimeField(_("Starts"))
    ends = models.DateTimeField(_("Ends"))
    place = models.CharField(_("Place"), max_length=200, blank=True, default="")
    host = models.ForeignKey(
        "places.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("Host")
    )
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.PLANNED)
    minutes = models.TextField(_("Minutes"), blank=True, default="")  # sanitised HTML (services.clean_html)
    site_visits = models.TextField(_("Site visits"), blank=True, default="")
    # Agreed at the end of this meeting: where the next one is held (Qom's mayors rotate).
    next_host = models.ForeignKey(
        "places.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Host of the next meeting"),
    )
    next_place = models.CharField(_("Place of the next meeting"), max_length=200, blank=True, default="")
    published = models.DateTimeField(null=True, blank=True)  # minutes and decisions public from then

    class Meta:
        ordering = ["-starts"]
        constraints = [models.CheckConstraint(condition=Q(ends__gt=models.F("starts")), name="meeting_ends_after")]

    def __str__(self) -> str:
        return self.title or f"{self.body.name} {timezone.localtime(self.starts):%Y-%m-%d}"

    @property
    def day(self) -> dt.date:
        return timezone.localtime(self.starts).date()


class AgendaItem(models.Model):
    """One item of a meeting's agenda. It may review an earlier decision (the agenda starts
    with the open decisions of earlier meetings) and may link one thing the meeting
    discusses: an indicator, an indicator set, a survey, or what the planning modules add
    (an agreement, a plan item) through `meetings.links`."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("Item"), max_length=300)
    notes = models.TextField(_("Notes"), blank=True, default="")
    review_of = models.ForeignKey("Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews")
    link_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    link_id = models.PositiveBigIntegerField(null=True, blank=True)
    link = GenericForeignKey("link_type", "link_id")

    class Meta:
        ordering = ["meeting", "position", "pk"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        EXCUSED = "excused", _("Excused")
        ABSENT = "absent", _("Absent")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=16, choices=Status.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once")]


class DecisionQuerySet(models.QuerySet):
    def overdue(self, today: dt.date | None = None) -> "DecisionQuerySet":
        """Open decisions whose deadline has passed: "overdue" is never stored, so it is
        never stale."""
        today = today or timezone.localdate()
        return self.filter(status=Decision.Status.OPEN, deadline__lt=today)

    def owned_by(self, user) -> "DecisionQuerySet":
        """Open decisions the person owns, soonest deadline first (their start page)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(status=Decision.Status.OPEN, owner__user=user).order_by(
            models.F("deadline").asc(nulls_last=True), "pk"
        )

    def published(self) -> "DecisionQuerySet":
        return self.filter(meeting__published__isnull=False)


class Decision(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="decisions")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    number = models.CharField(max_length=32)  # "4/2024": the body's running number in the year
    text = models.TextField(_("Decision"))
    owner = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions", verbose_name=_("Owner")
    )
    owner_unit = models.ForeignKey(
        "places.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Responsible unit"),
    )
    deadline = models.DateField(_("Deadline"), null=True, blank=True)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    status_note = models.TextField(_("Note on the status"), blank=True, default="")
    closed_on = models.DateField(null=True, blank=True)
    # Claimed by the daily job before it sends the "overdue" reminder, so it goes out once
    # even when several servers run the job (services.send_overdue_reminders).
    overdue_reminded = models.DateTimeField(null=True, blank=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-meeting__starts", "pk"]
        constraints = [models.UniqueConstraint(fields=["body", "number"], name="decision_number_unique")]

    def __str__(self) -> str:
        return f"{self.number} {self.text[:80]}"

    def is_overdue(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status == self.Status.OPEN and self.deadline is not None and self.deadline < today

    @property
    def state(self) -> str:
        """open, done, dropped or overdue: what the register shows and filters by."""
        return "overdue" if self.is_overdue() else self.status

    @property
    def state_label(self) -> str:
        return _("Overdue") if self.is_overdue() else self.get_status_display()


class Consultation(models.Model):
    """A proposal open for public comment for a window, then answered, reported on and closed
    by the council's decision."""

    unit = models.ForeignKey(
        "places.Unit", on_delete=models.PROTECT, related_name="consultations", verbose_name=_("Unit")
    )
    body = models.ForeignKey(
        Body,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
        verbose_name=_("Responsible body"),
    )
    code = models.SlugField(max_length=64, unique=True)
    title = models.CharField(_("Title"), max_length=200)
    summary = models.TextField(_("Summary"))
    # The proposal's document, kept in the database (a few MB at most, `services.DOCUMENT_LIMIT`)
    # so that every app server serves it and a backup holds it; its type is checked by content.
    document = models.BinaryField(blank=True, default=b"")
    document_name = models.CharField(max_length=200, blank=True, default="")
    document_type = models.CharField(max_length=100, blank=True, default="")
    opens = models.DateField(_("Open for comment from"))
    closes = models.DateField(_("Open for comment until"))
    council_deadline = models.DateField(_("Council decision due by"), null=True, blank=True)
    published = models.BooleanField(_("Published"), default=False)
    council_number = models.CharField(_("Number of the council decision"), max_length=64, blank=True, default="")
    council_date = models.DateField(_("Date of the council decision"), null=True, blank=True)
    council_summary = models.TextField(_("What the council decided"), blank=True, default="")

    class Meta:
        ordering = ["-opens", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(closes__gte=models.F("opens")), name="consultation_window"),
        ]

    def __str__(self) -> str:
        return self.title

    class Phase(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Not yet open")
        OPEN = "open", _("Open for comment")
        CLOSED = "closed", _("Closed, awaiting the council")
        DECIDED = "decided", _("Decided by the council")

    def phase(self, today: dt.date | None = None) -> str:
        today = today or timezone.localdate()
        if self.council_date:
            return self.Phase.DECIDED
        if not self.published:
            return self.Phase.DRAFT
        if today < self.opens:
            return self.Phase.SCHEDULED
        if today <= self.closes:
            return self.Phase.OPEN
        return self.Phase.CLOSED

    @property
    def phase_label(self) -> str:
        return self.Phase(self.phase()).label

    def is_open(self, today: dt.date | None = None) -> bool:
        return self.phase(today) == self.Phase.OPEN


class Comment(models.Model):
    """A comment from anyone, account or not. Kept: the name they chose to give (may be
    empty), the text, the day (not the time) and the moderation and answer. Not kept: an
    address, an e-mail, a time of day (README: Privacy)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="comments")
    name = models.CharField(_("Your name (optional)"), max_length=120, blank=True, default="")
    text = models.TextField(_("Your comment"))
    received = models.DateField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    theme = models.CharField(_("Theme"), max_length=120, blank=True, default="")
    response = models.TextField(_("Response"), blank=True, default="")
    change = models.TextField(_("What changed in the proposal"), blank=True, default="")
    responded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["consultation", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class CommentRate(models.Model):
    """The comment throttle's memory: a keyed digest of the sender's address and the time,
    kept for the throttle's window and then deleted. The address itself is never stored."""

    digest = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class CalendarToken(models.Model):
    """The secret in a person's calendar address (Outlook and Thunderbird cannot sign in).
    Only its digest is stored; making a new one ends the old address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
