"""User-satisfaction surveys of communal services, led step by step.

A survey belongs to one unit (the municipality or utility that asks its users) and one
year. Its questionnaire is kept in the shape of an XLSForm (one row per `survey` sheet row,
choice lists, settings) so that it round-trips to Excel, ODK and KoboToolbox without loss.

Respondents' privacy is structural, not a promise: a `Response` has no foreign key to the
sampling frame, no IP address and no clock time finer than the day. The `Link` that let a
sampled person answer is deleted the moment it is used; what the weighting needs (stratum
and inclusion probability) is copied onto the response, and what the response rate needs is
one more in its stratum's `UsedLinks` count. Links are created in random order, so neither
their ids nor anything else stored follows the order of the frame (README: Privacy).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    class Step(models.TextChoices):
        PLAN = "plan", _("Plan")
        SAMPLE = "sample", _("Sample")
        FIELDWORK = "fieldwork", _("Field work")
        CLEAN = "clean", _("Clean")
        WEIGHT = "weight", _("Weight")
        ANALYSE = "analyse", _("Analyse")
        PUBLISHED = "published", _("Published")

    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="surveys")
    year = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=64, help_text=_("Short identifier, also the XLSForm form_id."))
    title = models.JSONField(default=dict)
    step = models.CharField(max_length=16, choices=Step.choices, default=Step.PLAN)
    # XLSForm `settings` sheet: default_language, version, and any other column kept as read.
    form_settings = models.JSONField(default=dict, blank=True)
    # The languages the questionnaire is offered in (codes of settings.LANGUAGES).
    languages = models.JSONField(default=list, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The earlier survey results are compared with."),
    )
    population = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Number of users the survey speaks for.")
    )
    # Sample-size plan as entered (margin, confidence, expected share, design effect, response rate).
    sample_plan = models.JSONField(default=dict, blank=True)
    # Population margins for raking {variable: {category: total}} and trimming bounds.
    weighting = models.JSONField(default=dict, blank=True)
    opens = models.DateField(null=True, blank=True)
    closes = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "code"], name="survey_unit_code_unique")]
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        from municipium.lib.texts import pick

        return f"{pick(self.title) or self.code} {self.year}"

    def links_sent(self) -> bool:
        """Whether personal links were ever issued (used ones are deleted, their count stays)."""
        return self.links.exists() or self.used_links.exists()

    def advance(self, step: str) -> None:
        """Move forward to `step`, never backwards: a published survey stays published while it
        is corrected, until it is published again."""
        order = list(self.Step.values)
        if order.index(step) > order.index(self.step):
            self.step = step
            self.save(update_fields=["step"])


class Question(models.Model):
    """One row of the XLSForm `survey` sheet, in order; groups are begin/end rows as in XLSForm."""

    class Kind(models.TextChoices):
        SELECT_ONE = "select_one", "select_one"
        SELECT_MULTIPLE = "select_multiple", "select_multiple"
        INTEGER = "integer", "integer"
        DECIMAL = "decimal", "decimal"
        TEXT = "text", "text"
        NOTE = "note", "note"
        BEGIN_GROUP = "begin_group", "begin_group"
        END_GROUP = "end_group", "end_group"
        # Stored and exported, not asked on Municipium's own web form nor analysed (the
        # questionnaire page says so): collected in ODK or KoboToolbox and imported.
        DATE = "date", "date"
        CALCULATE = "calculate", "calculate"
        BEGIN_REPEAT = "begin_repeat", "begin_repeat"
        END_REPEAT = "end_repeat", "end_repeat"

    class Role(models.TextChoices):
        """What an analysis does with the answers; stored in the XLSForm column `municipium_role`."""

        NONE = "", _("Other")
        SATISFACTION = "satisfaction", _("Satisfaction with a service")
        IMPORTANCE = "importance", _("Importance of a service")
        OVERALL = "overall", _("Overall satisfaction")
        REMARK = "remark", _("Open remark")
        DEMOGRAPHIC = "demographic", _("Demographic")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=64, blank=True)
    list_name = models.CharField(max_length=64, blank=True)
    label = models.JSONField(default=dict, blank=True)
    hint = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(default=False)
    relevant = models.TextField(blank=True)
    constraint = models.TextField(blank=True)
    constraint_message = models.JSONField(default=dict, blank=True)
    appearance = models.CharField(max_length=64, blank=True)
    # `select_one list or_other`: an "other" choice with a text answer, as ODK adds it.
    or_other = models.BooleanField(default=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.NONE, blank=True)
    # Service area code (catalog.ServiceArea.code or a free code such as "public_cleanliness").
    service = models.CharField(max_length=64, blank=True)
    # A rated question's declared scale (XLSForm columns `municipium_scale`, `municipium_satisfied`):
    # {"low": 1, "high": 5, "satisfied": [4, 5]}; empty for other questions. Its list's choices
    # outside low–high are the "don't know / not used" codes (marked `municipium_missing`).
    scale = models.JSONField(default=dict, blank=True)
    # Columns of the survey sheet we do not interpret, kept so that export gives them back.
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["survey", "order"]
        constraints = [models.UniqueConstraint(fields=["survey", "order"], name="question_order_unique")]

    def __str__(self) -> str:
        return self.name or self.kind


class Choice(models.Model):
    """One row of the XLSForm `choices` sheet."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="choices")
    list_name = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    label = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField()
    # "Don't know" / "not applicable": shown, stored, but excluded from shares and means.
    is_missing = models.BooleanField(default=False)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["survey", "list_name", "order"]
        # No unique (list, name): a list filtered by a choice_filter may repeat a name (the
        # county "king" under two states), as pyxform allows; the importer checks the rest.
        indexes = [models.Index(fields=["survey", "list_name", "name"], name="choice_list_name")]

    def __str__(self) -> str:
        return f"{self.list_name}:{self.name}"


class Frame(models.Model):
    """An imported sampling frame (a list of users: households, connections, addresses)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="frames")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    stratum_column = models.CharField(max_length=64, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported = models.DateTimeField(auto_now_add=True)
    # The draw: method, sizes asked, seed (so the same sample can be drawn again), when.
    draw = models.JSONField(default=dict, blank=True)


class Contact(models.Model):
    """One row of a frame. `address` is how to reach the person (e-mail, phone, postal)."""

    frame = models.ForeignKey(Frame, on_delete=models.CASCADE, related_name="contacts")
    position = models.PositiveIntegerField()
    stratum = models.CharField(max_length=64, blank=True)
    address = models.CharField(max_length=255, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    sampled = models.BooleanField(default=False)
    inclusion_probability = models.FloatField(null=True, blank=True)
    # Set once the contact was given a link. A used link forgets its contact, so without this a
    # later issue would hand the same person a second link (it tells no more than the links
    # themselves: who still holds an unused one).
    link_issued = models.BooleanField(default=False)

    class Meta:
        ordering = ["frame", "position"]
        constraints = [models.UniqueConstraint(fields=["frame", "position"], name="contact_position_unique")]


class Link(models.Model):
    """A single-use personal link, not yet used. Only the token's hash is kept; the link is
    deleted when it is used (links.use), leaving a count in `UsedLinks`.

    No creation time and no used-on date: with the contact order they would tie a response
    to a household (issue 20). Links are created in random order (links.issue), so their
    ids do not follow the frame either.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="links")
    contact = models.OneToOneField(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="link")
    token_hash = models.CharField(max_length=64, unique=True)
    stratum = models.CharField(max_length=64, blank=True)
    inclusion_probability = models.FloatField(null=True, blank=True)


class UsedLinks(models.Model):
    """All that is kept of used links: how many of a stratum were used, for the response rate."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="used_links")
    stratum = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "stratum"], name="used_links_stratum_unique")]


class Response(models.Model):
    class Mode(models.TextChoices):
        WEB = "web", _("Web")
        PHONE = "phone", _("Telephone interview")
        FACE = "face", _("Face-to-face interview")
        PAPER = "paper", _("Paper questionnaire")
        IMPORT = "import", _("Imported")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    language = models.CharField(max_length=8, blank=True)
    stratum = models.CharField(max_length=64, blank=True)
    inclusion_probability = models.FloatField(null=True, blank=True)
    # {question name: value}; select_multiple as a list; "don't know" as its choice name.
    answers = models.JSONField(default=dict)
    # Day only and seconds taken: enough to flag very fast completions, not to identify anyone.
    submitted_on = models.DateField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Who keyed it in (interviewer or paper entry) — staff, never the respondent.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Import file (sha256) and the row it came from, for tracing and duplicate detection.
    source = models.CharField(max_length=255, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)
    # Cleaning: computed flags ("duplicate", "speeder", "straightliner") and the coordinator's decision.
    flags = models.JSONField(default=list, blank=True)
    excluded = models.BooleanField(default=False)
    decision_reason = models.TextField(blank=True)
    # Final weight after the weighting step (design weight × adjustments, trimmed).
    weight = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["survey", "id"]
        indexes = [models.Index(fields=["survey", "stratum"])]
