"""What the engine derives and stores. Everything here can be dropped and recomputed from
observations (DESIGN principle 1); it is stored only so that pages and the API read it fast.

`basis` keeps two views apart: "all" is computed from every observation whatever its status
and is seen inside the groups that share the data; "published" is computed from published
observations only and is what the public sees. Published rows are written only for slices
(indicator × period) that have unpublished inputs; elsewhere the two are the same and
readers take the "all" rows (see `municipium.benchmarks.read`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Basis(models.TextChoices):
    ALL = "all", _("All data")
    PUBLISHED = "published", _("Published data")


class IndicatorValue(models.Model):
    indicator = models.ForeignKey("catalog.Indicator", on_delete=models.CASCADE, related_name="values")
    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="indicator_values")
    period = models.ForeignKey("observations.Period", on_delete=models.CASCADE, related_name="+")
    breakdown = models.CharField(max_length=32, default="", blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.ALL)
    value = models.FloatField(null=True)
    # For ratio indicators: the parts, so that group values can be pooled (Σ num / Σ den).
    numerator = models.FloatField(null=True)
    denominator = models.FloatField(null=True)
    change = models.FloatField(null=True, help_text="Change against the previous period, in the indicator's unit")
    change_pct = models.FloatField(null=True, help_text="Relative change against the previous period, %")
    trend = models.FloatField(null=True, help_text="Least-squares slope per period over the last periods")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indicator", "unit", "period", "breakdown", "basis"], name="indicator_value_unique")
        ]
        indexes = [models.Index(fields=["indicator", "period", "basis"], name="indicator_value_slice")]


class GroupStatistic(models.Model):
    """An indicator across a group's members for one period. `n` says how many members it stands on."""

    indicator = models.ForeignKey("catalog.Indicator", on_delete=models.CASCADE, related_name="group_statistics")
    group = models.ForeignKey("places.Group", on_delete=models.CASCADE, related_name="statistics")
    period = models.ForeignKey("observations.Period", on_delete=models.CASCADE, related_name="+")
    breakdown = models.CharField(max_length=32, default="", blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.ALL)
    members = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    min = models.FloatField(null=True)
    p10 = models.FloatField(null=True)
    p25 = models.FloatField(null=True)
    median = models.FloatField(null=True)
    p75 = models.FloatField(null=True)
    p90 = models.FloatField(null=True)
    max = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    pooled = models.FloatField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indicator", "group", "period", "breakdown", "basis"], name="group_statistic_unique")
        ]


class Rank(models.Model):
    """A member's place in its group for an indicator and period; 1 is the best, by polarity."""

    indicator = models.ForeignKey("catalog.Indicator", on_delete=models.CASCADE, related_name="ranks")
    group = models.ForeignKey("places.Group", on_delete=models.CASCADE, related_name="ranks")
    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="ranks")
    period = models.ForeignKey("observations.Period", on_delete=models.CASCADE, related_name="+")
    breakdown = models.CharField(max_length=32, default="", blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.ALL)
    rank = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    # 100 = best of the group, 0 = worst; for neutral indicators, the share of members below.
    percentile = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "group", "unit", "period", "breakdown", "basis"], name="rank_unique"
            )
        ]
        indexes = [models.Index(fields=["indicator", "group", "period", "basis"], name="rank_slice")]
