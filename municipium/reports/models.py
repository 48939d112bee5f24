"""Reports for the council: a unit's chosen indicators for one period against a comparison
group, with an introduction and a commentary per indicator. The figures are not stored here:
they are read through `municipium.benchmarks.read` every time the report is shown or printed,
so a report always agrees with the profile and the API (DESIGN principle 5)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from municipium.audit.models import snapshot
from municipium.benchmarks import read


class Chart(models.TextChoices):
    RANKING = "ranking", _("Ranking in the group")
    SERIES = "series", _("Over time against the group median")


class Report(models.Model):
    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="reports")
    title = models.CharField(_("title"), max_length=200)
    period = models.ForeignKey(
        "observations.Period", on_delete=models.PROTECT, related_name="+", verbose_name=_("period")
    )
    group = models.ForeignKey(
        "places.Group", on_delete=models.PROTECT, related_name="+", verbose_name=_("comparison group")
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    introduction = models.TextField(_("introduction"), blank=True, default="")
    indicators = models.ManyToManyField("catalog.Indicator", through="ReportIndicator", related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A report is a draft, seen by the unit's people only, until they publish it: only then do
    # its introduction and commentary reach anyone else (issue 19).
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def ordered_entries(self) -> list["ReportIndicator"]:
        return list(self.entries.select_related("indicator").order_by("order", "id"))

    def snapshot(self) -> dict:
        """The report and its chosen indicators with their commentary, for audit events."""
        data = snapshot(self)
        data["entries"] = [
            {"indicator": e.indicator.code, "order": e.order, "chart": e.chart, "commentary": e.commentary}
            for e in self.ordered_entries()
        ]
        return data

    def figures_are_public(self) -> bool:
        """True when no chosen indicator has a published row in the period (no unit's or
        group's published figure differs from its figure on all data): an outsider then reads
        exactly the figures the commentary was written about."""
        return not read.any_published(self.entries.values_list("indicator_id", flat=True), self.period)


class ReportIndicator(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="entries")
    indicator = models.ForeignKey("catalog.Indicator", on_delete=models.CASCADE, related_name="+")
    order = models.PositiveIntegerField(default=0)
    chart = models.CharField(max_length=16, choices=Chart.choices, default=Chart.RANKING)
    commentary = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["report", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["report", "indicator"], name="report_indicator_unique")]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.indicator_id}"
