"""Forms of the tariff pages: shapes only; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.meetings.forms import put_error  # noqa: F401 - the one way a service's refusal reaches a form
from municipium.meetings.models import Consultation

from . import access, services
from .models import COST_CATEGORIES, CustomerClass, Scenario, Study

STUDY_FIELDS = [
    "code",
    "name",
    "unit",
    "service",
    "currency",
    "base_year",
    "unchanged_since",
    "status",
    "collection",
    "variable_share",
    "depreciation",
    "investment",
    "rate",
    "lifetime",
    "debt_service",
    "non_tariff_revenue",
    "fixed",
    "per_person",
    "per_m2",
    "per_bin_litre",
    "per_kg",
    "per_m3",
    "ref_persons",
    "ref_m2",
    "ref_bin_litres",
    "ref_kg",
    "ref_m3",
    "threshold",
    "threshold_source",
    "income_source",
    "consultation",
    "notes",
]


class StudyForm(forms.ModelForm):
    """The whole study on one page, in sections (`SECTIONS`); operating costs by category,
    the blocks, the past inflation and the income table are typed as text and parsed by
    the services, whose refusals name the line."""

    past_inflation_text = forms.CharField(
        label=_("Inflation in the years since (per cent a year)"),
        required=False,
        help_text=_("One figure a year, oldest first, e.g. 40 45 52."),
    )
    blocks_text = forms.CharField(
        label=_("Increasing blocks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            'One block a line, "up to; price per m³"; the last block "-; price". The first is the lifeline block.'
        ),
    )
    incomes_text = forms.CharField(
        label=_("Household income by group"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_('One group a line, "group; households; mean yearly income per household" (deciles or quintiles).'),
    )
    income_file = forms.FileField(
        label=_("…or upload the income table (CSV or Excel)"),
        required=False,
        help_text=_("Three columns as above; a header line is allowed."),
    )

    SECTIONS = [
        (
            _("The service"),
            [
                "code",
                "name",
                "unit",
                "service",
                "currency",
                "base_year",
                "unchanged_since",
                "past_inflation_text",
                "status",
            ],
        ),
        (
            _("Costs of the base year"),
            [
                *[f"cost_{code}" for code, _label in COST_CATEGORIES],
                "depreciation",
                "investment",
                "rate",
                "lifetime",
                "debt_service",
                "non_tariff_revenue",
                "collection",
                "variable_share",
            ],
        ),
        (
            _("The households' tariff today"),
            ["fixed", "per_person", "per_m2", "per_bin_litre", "per_kg", "per_m3", "blocks_text"],
        ),
        (
            _("Reference household and affordability"),
            [
                "ref_persons",
                "ref_m2",
                "ref_bin_litres",
                "ref_kg",
                "ref_m3",
                "threshold",
                "threshold_source",
                "incomes_text",
                "income_file",
                "income_source",
            ],
        ),
        (_("Consultation and notes"), ["consultation", "notes"]),
    ]

    class Meta:
        model = Study
        fields = STUDY_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label in COST_CATEGORIES:
            self.fields[f"cost_{code}"] = forms.FloatField(label=label, required=False, min_value=0)
            if self.instance.pk and code in self.instance.operating:
                self.initial[f"cost_{code}"] = self.instance.operating[code]
        self.fields["status"].choices = [
            c
            for c in Study.Status.choices
            if c[0] != Study.Status.ADOPTED or self.instance.status == Study.Status.ADOPTED
        ]
        if self.instance.pk:
            del self.fields["code"]
            del self.fields["unit"]
            self.initial["past_inflation_text"] = " ".join(f"{100 * r:g}" for r in self.instance.past_inflation)
            self.initial["blocks_text"] = services.blocks_text(self.instance)
            self.initial["incomes_text"] = services.incomes_text(self.instance)
            units = [self.instance.unit_id]
        else:
            self.fields["unit"].queryset = access.founding_units(user).order_by("code")
            self.fields["unit"].label_from_instance = lambda u: u.label
            units = list(self.fields["unit"].queryset.values_list("pk", flat=True))
        self.fields["consultation"].queryset = Consultation.objects.filter(unit_id__in=units).order_by("-pk")
        self.fields["consultation"].label_from_instance = lambda c: c.title
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            elif not isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-control")

    def sections(self):
        return [(title, [self[name] for name in names if name in self.fields]) for title, names in self.SECTIONS]

    def apply(self) -> Study:
        """The study with the typed texts parsed in; a StudyError names the field."""
        study = self.save(commit=False)
        data = self.cleaned_data
        study.operating = {
            code: data[f"cost_{code}"] for code, _label in COST_CATEGORIES if data.get(f"cost_{code}") is not None
        }
        study.past_inflation = services.parse_inflation(data.get("past_inflation_text") or "")
        study.blocks = services.parse_blocks(data.get("blocks_text") or "")
        if data.get("income_file"):
            study.incomes = services.incomes_from_file(data["income_file"])
        else:
            study.incomes = services.parse_incomes(data.get("incomes_text") or "")
        return study


class _Styled(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")


class ClassForm(_Styled):
    class Meta:
        model = CustomerClass
        fields = ["name", "customers", "demand", "price", "fixed_charge", "fixed_share", "elasticity", "growth"]


class ScenarioForm(_Styled):
    class Meta:
        model = Scenario
        fields = ["name", "years", "inflation", "growth", "collection", "increase", "target", "by_year", "cap"]
        help_texts = {
            "inflation": _("A share a year: 0.04 is 4 %."),
            "increase": _("Leave empty to solve for the target below."),
            "target": _("Cost recovery as a ratio: 1.0 recovers the full cost."),
            "cap": _("The largest real increase a year the council accepts, e.g. 0.1."),
            "growth": _("Leave 0 to use each class's own growth."),
        }
