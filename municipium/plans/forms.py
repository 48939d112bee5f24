"""Forms of the plan pages: shapes only; the rules are the services' (`PlanError`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.accounts import access
from municipium.catalog.models import Indicator
from municipium.lib.numbers import separator
from municipium.meetings.forms import put_error  # noqa: F401 - the one way a service's refusal reaches a form
from municipium.meetings.models import Body
from municipium.places.models import Group

from .models import Item, Plan, Target

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PlanForm(forms.ModelForm):
    level_names = forms.CharField(
        label=_("Levels of the plan"),
        required=False,
        help_text=_("Top first, separated by commas; empty: priority, goal, objective, measure."),
    )

    class Meta:
        model = Plan
        fields = [
            "unit",
            "code",
            "title",
            "vision",
            "start_year",
            "end_year",
            "body",
            "compare_with",
            "trajectory",
            "rollup",
            "on_track",
            "at_risk",
        ]
        widgets = {"vision": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = access.review_units(user).order_by("code")
        self.fields["unit"].label_from_instance = lambda u: u.label
        self.fields["compare_with"].queryset = Group.objects.order_by("code")
        self.fields["compare_with"].label_from_instance = lambda g: g.label
        self.fields["body"].queryset = Body.objects.order_by("name")
        if self.instance.pk:
            del self.fields["unit"]
            self.fields["code"].disabled = True
            self.fields["level_names"].initial = ", ".join(self.instance.level_names())

    def clean_level_names(self):
        text = self.cleaned_data.get("level_names") or ""
        names = [p.strip() for p in text.split(",") if p.strip()]
        if len(names) == 1:
            raise forms.ValidationError(_("A plan needs at least two levels."))
        return names


class ItemForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = ["parent", "code", "title", "description", "responsible", "body", "weight"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = plan.items.exclude(pk=self.instance.pk).order_by("position", "code")
        self.fields["body"].queryset = Body.objects.order_by("name")


class TargetForm(forms.ModelForm):
    unit_of_measure = forms.CharField(
        label=_("Unit of measure of the values you type"),
        required=False,
        help_text=_("Checked against the catalogue indicator's unit."),
    )
    milestone_text = forms.CharField(
        label=_("Intermediate targets"),
        required=False,
        help_text=_("Year=value pairs separated by semicolons, e.g. 2025=40; 2027=55."),
    )

    class Meta:
        model = Target
        fields = [
            "indicator",
            "own_name",
            "own_unit",
            "higher_is_better",
            "baseline",
            "baseline_year",
            "target",
            "target_year",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = Indicator.objects.order_by("code")
        self.fields["indicator"].label_from_instance = lambda i: f"{i.code}{separator()}{i.label}"
        self.fields["baseline_year"].required = False  # a missing year is the service's located refusal
        if self.instance.pk:
            self.fields["milestone_text"].initial = "; ".join(
                f"{y}={v}" for y, v in sorted((self.instance.milestones or {}).items())
            )


class BudgetForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=1900, max_value=2200)
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2)
    source = forms.CharField(label=_("Source"), max_length=120)


class ConsultForm(forms.Form):
    opens = forms.DateField(label=_("Open for comment from"), widget=DATE)
    closes = forms.DateField(label=_("Open for comment until"), widget=DATE)
    council_deadline = forms.DateField(label=_("Council decision due by"), widget=DATE, required=False)


class AdoptForm(forms.Form):
    council_number = forms.CharField(label=_("Number of the council decision"), max_length=64)
    council_date = forms.DateField(label=_("Date of the council decision"), widget=DATE)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Plan file (.yaml or .xlsx)"))
