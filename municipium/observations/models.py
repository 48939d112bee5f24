"""Raw observations, the only truth; their revisions; and the import batches that bring them."""

import datetime as dt
import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from municipium.catalog.models import PeriodKind

PERIOD_PATTERNS = (
    (PeriodKind.YEAR, re.compile(r"^(?P<y>\d{4})$")),
    (PeriodKind.QUARTER, re.compile(r"^(?P<y>\d{4})-?Q(?P<q>[1-4])$", re.IGNORECASE)),
    (PeriodKind.MONTH, re.compile(r"^(?P<y>\d{4})-(?P<m>0[1-9]|1[0-2])$")),
)


class PeriodCodeError(ValueError):
    pass


def parse_period(code: str) -> tuple[str, str, int, dt.date, dt.date]:
    """Return (canonical code, kind, ordinal, start, end) for '2021', '2021Q3' or '2021-07'.

    The ordinal counts periods of one kind from year 0, so that "n periods earlier" (lag)
    is plain subtraction whatever the kind.
    """
    text = str(code).strip()
    if re.fullmatch(r"\d{4}\.0", text):  # Excel hands years over as floats
        text = text[:4]
    for kind, pattern in PERIOD_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match["y"])
        if not 1900 <= year <= 2200:
            break
        if kind == PeriodKind.YEAR:
            return text, kind, year, dt.date(year, 1, 1), dt.date(year, 12, 31)
        if kind == PeriodKind.QUARTER:
            q = int(match["q"])
            start = dt.date(year, 3 * q - 2, 1)
            end = (dt.date(year + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
            return f"{year}Q{q}", kind, year * 4 + q - 1, start, end
        m = int(match["m"])
        end = dt.date(year + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
        return f"{year}-{m:02d}", kind, year * 12 + m - 1, dt.date(year, m, 1), end
    raise PeriodCodeError(
        _g("'%(code)s' is not a period; write a year (2024), a quarter (2024Q1) or a month (2024-01)") % {"code": text}
    )


def period_code_from_path(text: str) -> str:
    """A period code as written in an address ("2024", "2024Q1"), in its one canonical
    spelling; anything else is "not found", so that one page has one address."""
    from django.http import Http404

    try:
        canonical = parse_period(text)[0]
    except PeriodCodeError as error:
        raise Http404() from error
    if canonical != text:
        raise Http404()
    return canonical


class PeriodManager(models.Manager):
    def for_code(self, code: str) -> "Period":
        canonical, kind, ordinal, start, end = parse_period(code)
        period, _created = self.get_or_create(
            code=canonical, defaults={"kind": kind, "ordinal": ordinal, "start": start, "end": end}
        )
        return period


class Period(models.Model):
    code = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    ordinal = models.IntegerField()
    start = models.DateField()
    end = models.DateField()

    objects = PeriodManager()

    class Meta:
        ordering = ["kind", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["kind", "ordinal"], name="period_kind_ordinal")]

    def __str__(self) -> str:
        return self.code


class Missing(models.TextChoices):
    """Why a value is absent. A blank is never zero: absence is always said and explained."""

    NOT_COLLECTED = "not_collected", _("Not collected")
    NOT_SHARED = "not_shared", _("Not shared")
    CONFIDENTIAL = "confidential", _("Confidential")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")


class Via(models.TextChoices):
    FORM = "form", _("Form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    COMMAND = "command", _("Command line")
    RESTORE = "restore", _("Restore")
    WORKFLOW = "workflow", _("Workflow")


class ImportBatch(models.Model):
    """One committed file: what it was, who brought it and what it changed."""

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.IMPORT)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # The time stamp of the write: every observation it wrote carries it as `updated_at`
    # until a later write changes it. The figures it created and nobody changed since, whose
    # first revision is the observation row itself (`Revision`), are found by it through
    # the observation table's `updated_at` index. Null for a batch that wrote nothing yet.
    written_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


class Observation(models.Model):
    """One variable's value for one unit, period and breakdown category, or why it is missing."""

    # Single-column indexes on unit and variable would only repeat the prefixes of the
    # unique key and of observation_variable_period, and each index slows every import.
    # No database constraints either: PostgreSQL checked them row by row at commit, half the
    # time of a million-row import. The write path checks each distinct unit, variable and
    # period once and locks them (services._check_references); PROTECT is Django's.
    unit = models.ForeignKey(
        "places.Unit", on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    variable = models.ForeignKey(
        "catalog.Variable", on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    period = models.ForeignKey(
        Period, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    # Category code of the variable's breakdown; "" is the total.
    breakdown = models.CharField(max_length=32, default="", blank=True)
    value = models.FloatField(null=True, blank=True)
    missing = models.CharField(max_length=16, choices=Missing.choices, default="", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    source = models.TextField(blank=True, default="")
    comment = models.TextField(blank=True, default="")
    # Bumped on every change; a writer that read version n may only save over version n.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    # Who and which batch are provenance, not structure: no database constraint (Django still
    # applies SET_NULL), because PostgreSQL checks each deferred constraint row by row at
    # commit, which doubled the time of a million-row import.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Not indexed: the queries by batch (the revision snapshot after a write, a write's
    # figures in the audit trail) select the write's rows by their time stamp (the
    # updated_at index, `ImportBatch.written_at`) and then the batch; a fifth index cost
    # every insert of an import 20 % (issue 18). Batches are not deleted (the admin
    # refuses): a figure's batch gives the channel of its first version.
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "variable", "period", "breakdown"], name="observation_unique"),
            models.CheckConstraint(
                condition=(models.Q(value__isnull=False) & models.Q(missing=""))
                | (models.Q(value__isnull=True) & ~models.Q(missing="")),
                name="observation_value_xor_missing",
            ),
        ]
        indexes = [
            # updated_at too, so that a full recompute's digest of each variable's observations
            # (benchmarks.engine.Fingerprints: count, last id, last change) reads this index
            # alone, not the table.
            models.Index(fields=["variable", "period", "updated_at"], name="observation_variable_period_at"),
            # The API's "changed since", the write path's revision snapshot (this write's
            # time stamp) and a write's figures in the audit trail (`history.written_by`).
            models.Index(fields=["updated_at"], name="observation_updated_at"),
            # The status board's "last submitted" of figures written as submitted and not
            # changed since, whose submission is the row itself (`Revision`); a draft or
            # published import adds nothing to it.
            models.Index(
                fields=["period", "unit"],
                condition=models.Q(status="submitted", version=1),
                name="observation_submitted_first",
            ),
        ]

    def __str__(self) -> str:
        shown = self.value if self.missing == "" else self.missing
        return f"{self.unit_id}/{self.variable_id}/{self.period_id}/{self.breakdown or '-'} = {shown}"


class BatchUnit(models.Model):
    """A unit whose figures a write (an import, a form's save, a workflow step) changed.

    Who may see a write follows from these units: a coordinator's audit trail and an
    officer's import history list the batches that wrote figures of their units. Found from
    the revisions, that read every revision of every batch (a country's import writes
    millions: 11 s for a coordinator's trail behind five imports of a million figures,
    issue 18); recorded here by the write itself (`services._finish`), at most one row per
    unit a batch touched."""

    # The unique (batch, unit) key serves lookups by batch; the unit's index, by unit.
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="units_written", db_index=False)
    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "unit"], name="batch_unit_unique")]


class Revision(models.Model):
    """The state of an observation after each change, with who, when and through what.

    A figure's first version is not stored here while it is the figure's current one: the
    observation row holds exactly what its revision would (the values, `updated_at`,
    `updated_by`, the batch and so the channel, `ImportBatch.via`). The write that changes it
    first copies that version here (`services.write_staged`), so a changed figure has every
    version stored. A country's first import writes a million figures that nobody changes
    for months; their revisions were a third of its time on PostgreSQL (issue 18).
    `observations.history` is where readers get a figure's or a batch's versions, the
    implicit ones included."""

    # The unique (observation, version) key serves lookups by observation. No database
    # constraint: only write_observations creates revisions, from rows it has just written,
    # and PostgreSQL's deferred check of a million of them took longer than the insert itself.
    # Django's collector still cascades deletes.
    observation = models.ForeignKey(
        Observation, on_delete=models.CASCADE, related_name="revisions", db_index=False, db_constraint=False
    )
    version = models.PositiveIntegerField()
    value = models.FloatField(null=True, blank=True)
    missing = models.CharField(max_length=16, choices=Missing.choices, default="", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.TextField(blank=True, default="")
    comment = models.TextField(blank=True, default="")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    via = models.CharField(max_length=16, choices=Via.choices)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions", db_constraint=False
    )

    class Meta:
        ordering = ["observation", "version"]
        constraints = [models.UniqueConstraint(fields=["observation", "version"], name="revision_unique")]
        indexes = [
            # The status board's "last submitted" (workflow.last_submissions) reads the
            # submitted revisions of a group's figures; a draft or published import adds
            # nothing to this index, only figures written as submitted do.
            models.Index(fields=["observation"], condition=models.Q(status="submitted"), name="revision_submitted"),
        ]


class ValidationRule(models.Model):
    """A check a coordinator puts on a variable, run as the officer types and before saving.

    - range: the value must lie within `minimum` .. `maximum` (tighter than, or besides,
      the variable's own hard limits, which always apply as errors);
    - consistency: `expression` in the formula language must hold (be non-zero), e.g.
      `water_billed <= water_produced`; not checked while an input of it is missing;
    - change: the value may not differ from the previous period's by more than
      `threshold` per cent.

    A rule without a group applies everywhere; with one, to the group's member units.
    """

    class Kind(models.TextChoices):
        RANGE = "range", _("Range")
        CONSISTENCY = "consistency", _("Consistency")
        CHANGE = "change", _("Change from the previous period")

    class Severity(models.TextChoices):
        ERROR = "error", _("Error (blocks saving)")
        WARNING = "warning", _("Warning")

    variable = models.ForeignKey("catalog.Variable", on_delete=models.CASCADE, related_name="validation_rules")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    expression = models.TextField(
        blank=True,
        default="",
        help_text=_("For consistency rules: a condition over variable codes, like water_billed <= water_produced"),
    )
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(
        null=True, blank=True, help_text=_("For change rules: the largest change allowed, in per cent")
    )
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    # {"en": "...", "pl": "..."}: what the officer reads; a generated text when empty.
    message = models.JSONField(default=dict, blank=True)
    group = models.ForeignKey(
        "places.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="validation_rules"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["variable", "kind", "pk"]

    def __str__(self) -> str:
        if self.kind == self.Kind.CONSISTENCY:
            return f"{self.variable_id and self.variable.code}: {self.expression}"
        return f"{self.variable_id and self.variable.code}: {self.get_kind_display()}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from municipium.catalog.models import Variable
        from municipium.lib.formulas import FormulaError, parse

        if self.kind == self.Kind.CONSISTENCY:
            if not self.expression.strip():
                raise ValidationError(
                    {"expression": _g("A consistency rule needs a condition, like water_billed <= water_produced.")}
                )
            try:
                formula = parse(self.expression)
                formula.check(set(Variable.objects.values_list("code", flat=True)))
            except FormulaError as error:
                raise ValidationError({"expression": str(error)}) from error
        elif self.kind == self.Kind.RANGE:
            if self.minimum is None and self.maximum is None:
                raise ValidationError(_g("A range rule needs a minimum, a maximum or both."))
            if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
                raise ValidationError({"maximum": _g("The maximum is smaller than the minimum.")})
        elif self.kind == self.Kind.CHANGE:
            if self.threshold is None or self.threshold <= 0:
                raise ValidationError({"threshold": _g("A change rule needs a threshold above 0 per cent.")})


class Publication(models.Model):
    """A coordinator's decision to publish a group's approved data for a period, at once or
    on an embargo date. Until `released_at` is set the figures stay approved (not public);
    `workflow.release_due_publications` releases those whose date has come."""

    group = models.ForeignKey("places.Group", on_delete=models.CASCADE, related_name="publications")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="publications")
    # None: every member unit of the group during the period.
    unit = models.ForeignKey("places.Unit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    publish_after = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.period_id} {self.publish_after or ''}".strip()


class Deadline(models.Model):
    """The day by which a group's members hand in (submit) their figures for a period.

    The reminder columns are claims as much as records: the daily job marks a step sent with
    a conditional UPDATE before it sends, so that two servers running it at once send each
    step once. A new date starts the steps over, because it is a new deadline to be reminded of.
    Every reminder, by hand or automatic, is an audit event; the board reads the last from there."""

    group = models.ForeignKey("places.Group", on_delete=models.CASCADE, related_name="deadlines")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="deadlines")
    due = models.DateField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)
    # When the automatic reminder before the deadline, and the one after it passed, went out.
    reminded_before = models.DateTimeField(null=True, blank=True)
    reminded_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "period"], name="deadline_group_period")]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.period_id} {self.due.isoformat()}"
