"""What is measured: service areas, variables (raw figures) and indicators (formulas)."""

from functools import cached_property

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from municipium.lib.texts import pick

CODE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class PeriodKind(models.TextChoices):
    YEAR = "year", _("Year")
    QUARTER = "quarter", _("Quarter")
    MONTH = "month", _("Month")


class ServiceArea(models.Model):
    code = models.CharField(max_length=64, unique=True)
    name = models.JSONField(default=dict)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return pick(self.name).text or self.code


class Breakdown(models.Model):
    """A way to split a variable: sex, age band, ..."""

    code = models.CharField(max_length=64, unique=True)
    name = models.JSONField(default=dict)

    def __str__(self) -> str:
        return pick(self.name).text or self.code


class Category(models.Model):
    breakdown = models.ForeignKey(Breakdown, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=32)
    name = models.JSONField(default=dict)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["breakdown", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["breakdown", "code"], name="category_unique")]

    def __str__(self) -> str:
        return pick(self.name).text or self.code


# The variables a user-satisfaction survey publishes (survey_<service>_<measure>): nobody
# enters them, so entry forms leave them out and completeness does not count them as owed.
SURVEY_VARIABLE_PREFIX = "survey_"


class Variable(models.Model):
    """A raw figure a unit reports for a period."""

    code = models.CharField(max_length=64, unique=True)
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="variables")
    name = models.JSONField(default=dict)
    description = models.JSONField(default=dict, blank=True)
    unit_of_measure = models.JSONField(default=dict, blank=True)
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices, default=PeriodKind.YEAR)
    breakdown = models.ForeignKey(Breakdown, null=True, blank=True, on_delete=models.PROTECT)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    source = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["service_area", "order", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        return pick(self.name).text or self.code

    @property
    def unit_label(self) -> str:
        return pick(self.unit_of_measure).text

    @property
    def entered(self) -> bool:
        """Whether members enter this figure (a survey's published figures they do not)."""
        return not self.code.startswith(SURVEY_VARIABLE_PREFIX)


class Indicator(models.Model):
    """A formula over variables (and other indicators). Its values are always derived."""

    class Dimension(models.TextChoices):
        QUANTITY = "quantity", _("Quantity")
        QUALITY = "quality", _("Quality")
        AVAILABILITY = "availability", _("Availability")
        COST_EFFICIENCY = "cost_efficiency", _("Cost-efficiency")

    class Polarity(models.TextChoices):
        HIGHER_IS_BETTER = "higher_is_better", _("Higher is better")
        LOWER_IS_BETTER = "lower_is_better", _("Lower is better")
        NEUTRAL = "neutral", _("Neutral")

    code = models.CharField(max_length=64, unique=True)
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="indicators")
    name = models.JSONField(default=dict)
    definition = models.JSONField(default=dict, blank=True)
    formula = models.TextField()
    unit_of_measure = models.JSONField(default=dict, blank=True)
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    polarity = models.CharField(max_length=16, choices=Polarity.choices, default=Polarity.NEUTRAL)
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices, default=PeriodKind.YEAR)
    decimals = models.PositiveSmallIntegerField(default=1)
    target = models.FloatField(null=True, blank=True)
    # {"good": x, "poor": y}: absolute thresholds that take precedence over quartiles.
    thresholds = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["service_area", "order", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        return pick(self.name).text or self.code

    @property
    def unit_label(self) -> str:
        return pick(self.unit_of_measure).text

    @cached_property
    def parsed(self):
        from municipium.lib.formulas import parse

        return parse(self.formula)

    def clean(self):
        from municipium.lib.formulas import FormulaError, parse

        try:
            parse(self.formula)
        except FormulaError as error:
            raise ValidationError({"formula": str(error)}) from error


class IndicatorSet(models.Model):
    """The indicators an exchange group agreed to follow (or a starter set to adopt)."""

    code = models.CharField(max_length=64, unique=True)
    name = models.JSONField(default=dict)
    group = models.ForeignKey(
        "places.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="indicator_sets"
    )
    indicators = models.ManyToManyField(Indicator, through="SetIndicator", related_name="sets")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return pick(self.name).text or self.code


class SetIndicator(models.Model):
    indicator_set = models.ForeignKey(IndicatorSet, on_delete=models.CASCADE, related_name="entries")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["indicator_set", "order"]
        constraints = [models.UniqueConstraint(fields=["indicator_set", "indicator"], name="set_indicator_unique")]
