"""Making and editing a report: one form for both. The per-indicator fields (position, chart,
commentary) are added for the indicators the report already has."""

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from municipium.audit.models import record
from municipium.benchmarks import read
from municipium.catalog.models import Indicator
from municipium.lib import numbers
from municipium.places.models import Group, Membership

from .models import Chart, Report, ReportIndicator


class ReportForm(forms.ModelForm):
    indicators = forms.MultipleChoiceField(
        label=_("Indicators"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Newly chosen indicators are added at the end; their position can be changed once the report is saved."
        ),
    )

    class Meta:
        model = Report
        fields = ["title", "period", "group", "language", "introduction"]
        widgets = {"introduction": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["period"].queryset = read.periods_of(unit).order_by("-kind", "-ordinal")
        self.fields["group"].queryset = Group.objects.filter(
            pk__in=Membership.objects.filter(unit=unit).values("group_id")
        ).order_by("kind", "code")
        self.fields["group"].label_from_instance = lambda group: group.label
        self.fields["period"].label_from_instance = lambda period: numbers.localise_digits(period.code)
        self.fields["period"].empty_label = None
        self.fields["group"].empty_label = None
        self.fields["language"].choices = [
            (code, get_language_info(code)["name_local"]) for code in settings.LANGUAGE_CODES
        ]
        entries = self.instance.ordered_entries() if self.instance.pk else []
        chosen = {e.indicator_id for e in entries}
        indicators = read.indicators_valued(self.unit) | Indicator.objects.filter(pk__in=chosen)
        grouped: dict = {}
        for indicator in indicators.select_related("service_area").order_by("service_area__order", "order", "code"):
            grouped.setdefault(str(indicator.service_area), []).append((str(indicator.pk), indicator.label))
        self.fields["indicators"].choices = list(grouped.items())
        if entries:
            self.initial["indicators"] = [str(pk) for pk in chosen]
        self.entries = entries
        for n, entry in enumerate(entries, start=1):
            key = entry.indicator_id
            self.fields[f"order_{key}"] = forms.IntegerField(label=_("Position"), min_value=1, initial=n)
            self.fields[f"chart_{key}"] = forms.ChoiceField(
                label=_("Chart"), choices=Chart.choices, initial=entry.chart
            )
            self.fields[f"commentary_{key}"] = forms.CharField(
                label=_("Commentary"),
                required=False,
                initial=entry.commentary,
                widget=forms.Textarea(attrs={"rows": 4}),
            )

        for bound in self.fields.values():
            widget = bound.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select"
            else:
                widget.attrs["class"] = "form-control"

    def indicator_groups(self):
        """(service area, checkboxes) for the indicator choice, by service area."""
        boxes = {str(box.data["value"]): box for box in self["indicators"]}
        return [(area, [boxes[pk] for pk, _label in items]) for area, items in self.fields["indicators"].choices]

    def entry_fields(self):
        """(entry, position field, chart field, commentary field) per chosen indicator."""
        return [
            (e, self[f"order_{e.indicator_id}"], self[f"chart_{e.indicator_id}"], self[f"commentary_{e.indicator_id}"])
            for e in self.entries
        ]

    def save(self, commit=True, *, actor=None):
        report = self.instance
        creating = report.pk is None
        with transaction.atomic():
            before = None if creating else Report.objects.get(pk=report.pk).snapshot()
            report = super().save(commit=False)
            if creating:
                report.unit = self.unit
                report.created_by = actor if actor is not None and actor.is_authenticated else None
            report.save()
            self._save_entries(report)
            record(
                "create" if creating else "update",
                report,
                actor=actor,
                before=before,
                after=report.snapshot(),
                via="form",
            )
        return report

    def _save_entries(self, report):
        chosen = [int(pk) for pk in self.cleaned_data["indicators"]]
        catalogue_order = [int(pk) for _area, items in self.fields["indicators"].choices for pk, _label in items]
        existing = {e.indicator_id: e for e in report.entries.all()}
        report.entries.exclude(indicator_id__in=chosen).delete()
        placed = []
        for key, entry in existing.items():
            if key not in chosen:
                continue
            if f"order_{key}" in self.cleaned_data:
                entry.chart = self.cleaned_data[f"chart_{key}"]
                entry.commentary = self.cleaned_data[f"commentary_{key}"]
                placed.append(((self.cleaned_data[f"order_{key}"], entry.order), entry))
            else:
                placed.append(((entry.order, entry.order), entry))
        end = max((rank[0] for rank, _e in placed), default=0)
        for n, key in enumerate(k for k in catalogue_order if k in chosen and k not in existing):
            placed.append(((end + 1 + n, 0), ReportIndicator(report=report, indicator_id=key)))
        for order, (_rank, entry) in enumerate(sorted(placed, key=lambda item: item[0]), start=1):
            entry.order = order
            entry.save()
