"""Strategic development plans: a tree of items (priority → goal → objective → measure, the
levels named per plan, as each country's methodology names them), their budgets, and targets
on indicators with baselines, intermediate and final values.

Progress is never stored: it is computed from the indicator values the engine derives
(`benchmarks.read`), so a corrected observation changes the plan's progress like every other
figure. A plan's versions (draft → consultation → adopted → amended) keep a snapshot of the
tree each, so two versions can be compared.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_LEVELS = ["priority", "goal", "objective", "measure"]


class Plan(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONSULTATION = "consultation", _("In public consultation")
        ADOPTED = "adopted", _("Adopted")

    class Trajectory(models.TextChoices):
        LINEAR = "linear", _("Straight line")
        GROWTH = "growth", _("Constant growth rate")

    class Rollup(models.TextChoices):
        MEAN = "mean", _("Plain mean")
        WEIGHTED = "weighted", _("Weighted mean")

    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="plans", verbose_name=_("Unit"))
    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    title = models.CharField(_("Title"), max_length=200)
    vision = models.TextField(_("Vision"), blank=True, default="")
    start_year = models.PositiveSmallIntegerField(_("From year"))
    end_year = models.PositiveSmallIntegerField(_("To year"))
    body = models.ForeignKey(
        "meetings.Body",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans",
        verbose_name=_("Coordinating body"),
    )
    compare_with = models.ForeignKey(
        "places.Group",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Compare with group"),
    )
    # The names of the levels of the tree, top first (a country's methodology: Lithuanian
    # plans speak of priorities, goals, objectives and measures with effect, result and
    # product indicators).
    levels = models.JSONField(default=list)
    trajectory = models.CharField(
        _("Expected path"), max_length=8, choices=Trajectory.choices, default=Trajectory.LINEAR
    )
    rollup = models.CharField(_("Roll-up"), max_length=8, choices=Rollup.choices, default=Rollup.MEAN)
    on_track = models.FloatField(_("On track from (ratio)"), default=0.95)
    at_risk = models.FloatField(_("At risk from (ratio)"), default=0.60)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    consultation = models.ForeignKey(
        "meetings.Consultation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["unit", "-end_year", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gt=models.F("start_year")), name="plan_years"),
            models.CheckConstraint(condition=Q(at_risk__lt=models.F("on_track")), name="plan_thresholds"),
        ]

    def __str__(self) -> str:
        return self.title

    def level_names(self) -> list[str]:
        return self.levels or DEFAULT_LEVELS

    def latest_version(self):
        return self.versions.order_by("-number").first()


class Item(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("Part of")
    )
    level = models.PositiveSmallIntegerField(default=0)  # index into plan.level_names()
    code = models.CharField(_("Number"), max_length=32)  # "1.2.3"
    title = models.CharField(_("Title"), max_length=300)
    description = models.TextField(_("Description"), blank=True, default="")
    responsible = models.CharField(_("Responsible department"), max_length=200, blank=True, default="")
    body = models.ForeignKey(
        "meetings.Body",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_items",
        verbose_name=_("Drafted by working group"),
    )
    weight = models.FloatField(_("Weight in its parent"), null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="plan_item_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def level_name(self) -> str:
        names = self.plan.level_names()
        return names[self.level] if self.level < len(names) else names[-1]


class Budget(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="budgets")
    year = models.PositiveSmallIntegerField(_("Year"))
    amount = models.DecimalField(_("Amount"), max_digits=16, decimal_places=2)
    source = models.CharField(_("Source"), max_length=120)

    class Meta:
        ordering = ["item", "year", "source"]
        constraints = [models.UniqueConstraint(fields=["item", "year", "source"], name="budget_once")]


class Target(models.Model):
    """An indicator an item is measured by, for the plan's unit: a catalogue indicator (its
    values come from the engine) or one of the plan's own, whose yearly values are typed in."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="targets")
    indicator = models.ForeignKey(
        "catalog.Indicator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Catalogue indicator"),
    )
    own_name = models.CharField(_("Plan's own indicator"), max_length=200, blank=True, default="")
    own_unit = models.CharField(_("Unit of measure"), max_length=40, blank=True, default="")
    own_values = models.JSONField(default=dict, blank=True)  # {"2021": 12.5, ...} for own indicators
    higher_is_better = models.BooleanField(_("Higher is better"), default=True)
    baseline = models.FloatField(_("Baseline value"))
    baseline_year = models.PositiveSmallIntegerField(_("Baseline year"))
    target = models.FloatField(_("Final target"))
    target_year = models.PositiveSmallIntegerField(_("Target year"))
    # Intermediate targets: {"2025": 40.0}
    milestones = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["item", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(indicator__isnull=False) | ~Q(own_name=""), name="target_has_indicator"),
            models.CheckConstraint(condition=Q(target_year__gt=models.F("baseline_year")), name="target_after_base"),
        ]

    @property
    def name(self) -> str:
        return self.indicator.label if self.indicator_id else self.own_name

    @property
    def unit_label(self) -> str:
        return self.indicator.unit_label if self.indicator_id else self.own_unit

    @property
    def direction(self) -> int:
        return 1 if self.higher_is_better else -1


class Version(models.Model):
    """A plan as it stood when it went to consultation, was adopted or amended."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Sent to consultation")
        ADOPTED = "adopted", _("Adopted")
        AMENDED = "amended", _("Amended")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    council_number = models.CharField(_("Number of the council decision"), max_length=64, blank=True, default="")
    council_date = models.DateField(_("Date of the council decision"), null=True, blank=True)
    snapshot = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_version_once")]
