"""Forms of the survey planning and sampling pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from municipium.lib.texts import pick
from municipium.observations.rules import NumberError, parse_number

from . import access, starter
from .expressions import ExpressionError
from .expressions import parse as parse_expression
from .models import Question, Survey


class NumberField(forms.CharField):
    """A number typed the way the reader's language writes it (5,5 in Polish, ۵٫۵ in Persian)."""

    def __init__(self, *, low=None, high=None, whole=False, **kwargs):
        self.low, self.high, self.whole = low, high, whole
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            number = parse_number(value)
        except NumberError:
            raise forms.ValidationError(_("'%(value)s' is not a number.") % {"value": value}) from None
        if number is None:
            return None
        if self.whole and not float(number).is_integer():
            raise forms.ValidationError(_("Enter a whole number."))
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise forms.ValidationError(
                _("Enter a number from %(low)s to %(high)s.") % {"low": self.low, "high": self.high}
            )
        return int(number) if self.whole else number


def _language_choices():
    return [(code, name) for code, name in settings.LANGUAGES]


class SurveyCreateForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=None, label=_l("Unit"), widget=forms.Select(attrs={"class": "form-select"}))
    year = forms.IntegerField(
        label=_l("Year"), min_value=2000, max_value=2100, widget=forms.NumberInput(attrs={"class": "form-control"})
    )
    code = forms.SlugField(
        label=_l("Short name"),
        max_length=64,
        help_text=_l("Letters, digits and hyphens, e.g. satisfaction-2026. Also the XLSForm form_id."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    services = forms.MultipleChoiceField(
        label=_l("Services to ask about"), widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    languages = forms.MultipleChoiceField(
        label=_l("Languages of the questionnaire"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        choices=_language_choices,
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = access.runnable_units(user)
        self.fields["unit"].label_from_instance = lambda unit: f"{pick(unit.name)} ({unit.code})"
        units = list(self.fields["unit"].queryset[:2])
        if len(units) == 1:
            self.fields["unit"].initial = units[0].pk
        self.fields["services"].choices = [(s["code"], pick(s["name"]).text) for s in starter.services()]
        self.fields["services"].initial = [s["code"] for s in starter.services()]
        self.fields["languages"].initial = list(settings.LANGUAGE_CODES)
        self.fields["year"].initial = timezone.localdate().year

    def clean(self):
        data = super().clean()
        if (
            data.get("unit")
            and data.get("code")
            and Survey.objects.filter(unit=data["unit"], code=data["code"]).exists()
        ):
            self.add_error("code", _("This unit already has a survey with this short name."))
        return data


def _answerable_names(survey: Survey) -> frozenset[str]:
    return frozenset(
        survey.questions.exclude(
            kind__in=[
                Question.Kind.BEGIN_GROUP,
                Question.Kind.END_GROUP,
                Question.Kind.BEGIN_REPEAT,
                Question.Kind.END_REPEAT,
                Question.Kind.NOTE,
            ]
        ).values_list("name", flat=True)
    )


class QuestionForm(forms.Form):
    """A question's wording per language, whether it must be answered and when it is asked."""

    required = forms.BooleanField(
        label=_l("An answer is required"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    relevant = forms.CharField(
        label=_l("Ask only when (XLSForm relevant)"),
        required=False,
        help_text=_l("For example ${use_water_supply} = 'yes'. Empty: always asked."),
        widget=forms.TextInput(attrs={"class": "form-control font-monospace", "dir": "ltr"}),
    )

    def __init__(self, *args, question: Question, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question
        names = dict(settings.LANGUAGES)
        languages = question.survey.languages or list(settings.LANGUAGE_CODES)
        for code in reversed(languages):
            field = forms.CharField(
                label=_("Label in %(language)s") % {"language": names.get(code, code)},
                required=code == languages[0],
                max_length=1000,
                widget=forms.Textarea(
                    attrs={"rows": 2, "class": "form-control", "lang": code, "dir": "rtl" if code == "fa" else "ltr"}
                ),
            )
            self.fields = {f"label_{code}": field, **self.fields}
            self.initial.setdefault(f"label_{code}", question.label.get(code, ""))
        self.initial.setdefault("required", question.required)
        self.initial.setdefault("relevant", question.relevant)
        self.languages = languages

    def clean_relevant(self):
        text = self.cleaned_data["relevant"].strip()
        if text:
            try:
                parse_expression(text, _answerable_names(self.question.survey) - {self.question.name})
            except ExpressionError as error:
                raise forms.ValidationError(error.message) from None
        return text

    def labels(self) -> dict:
        return {
            code: self.cleaned_data[f"label_{code}"].strip()
            for code in self.languages
            if self.cleaned_data.get(f"label_{code}", "").strip()
        }


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_l("XLSForm workbook (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx"}),
    )


CONFIDENCE_CHOICES = [("0.9", "90 %"), ("0.95", "95 %"), ("0.99", "99 %")]


class SampleSizeForm(forms.Form):
    margin = NumberField(
        label=_l("Margin of error (percentage points)"),
        low=0.5,
        high=25,
        initial="5",
        help_text=_l("How far the result may be from the truth: ±5 points is usual."),
    )
    confidence = forms.ChoiceField(
        label=_l("Confidence"),
        choices=CONFIDENCE_CHOICES,
        initial="0.95",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=_l("How sure you want to be that the truth lies within the margin."),
    )
    population = NumberField(
        label=_l("Population (number of users)"),
        low=1,
        high=100_000_000,
        whole=True,
        required=False,
        help_text=_l("Leave empty if unknown; with it, small towns need fewer interviews."),
    )
    share = NumberField(
        label=_l("Expected share satisfied (%)"),
        low=1,
        high=99,
        initial="50",
        help_text=_l("If you do not know, keep 50 %: it gives the safest (largest) sample."),
    )
    design_effect = NumberField(
        label=_l("Design effect"),
        low=1,
        high=10,
        initial="1",
        help_text=_l("1 for a simple random sample; 1.5 to 2 when the sample is clustered or weighted."),
    )
    response_rate = NumberField(
        label=_l("Expected response rate (%)"),
        low=1,
        high=100,
        initial="40",
        help_text=_l("The share of contacted people who will answer."),
    )
    by_stratum = forms.BooleanField(
        label=_l("Report each stratum with this precision"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text=_l("Uses the strata of the imported frame (or of the list below)."),
    )
    strata = forms.CharField(
        label=_l("Strata and their populations"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "class": "form-control", "placeholder": "centre = 12000\nvillages = 8000"}
        ),
        help_text=_l("One stratum a line: name = population. Optional."),
    )

    def clean_strata(self):
        strata = {}
        for number, line in enumerate(self.cleaned_data["strata"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, size = line.partition("=")
            try:
                value = parse_number(size)
            except NumberError:
                value = None
            if not sep or not name.strip() or value is None or value < 1 or not float(value).is_integer():
                raise forms.ValidationError(
                    _("Line %(line)s: write a stratum as 'name = population', e.g. centre = 12000.") % {"line": number}
                )
            strata[name.strip()] = int(value)
        return strata

    def plan(self) -> dict:
        """What is stored in Survey.sample_plan: the inputs as fractions."""
        data = self.cleaned_data
        return {
            "margin_of_error": data["margin"] / 100,
            "confidence": float(data["confidence"]),
            "population": data["population"],
            "proportion": data["share"] / 100,
            "design_effect": data["design_effect"],
            "response_rate": data["response_rate"] / 100,
            "by_stratum": data["by_stratum"],
            "strata": data["strata"],
        }

    @classmethod
    def initial_from(cls, plan: dict) -> dict:
        if not plan:
            return {}
        from municipium.lib.numbers import format_number

        def shown(value, decimals=1):
            # Trailing zeros dropped in Latin and Persian digits: 5 rather than 5,0 or ۵٫۰.
            if value is None:
                return ""
            text = format_number(value, decimals, grouping=False)
            return text.rstrip("0۰").rstrip(".,٫") if decimals else text

        return {
            "margin": shown(plan["margin_of_error"] * 100),
            "confidence": str(plan["confidence"]),
            "population": shown(plan.get("population"), 0),
            "share": shown(plan["proportion"] * 100),
            "design_effect": shown(plan["design_effect"], 2),
            "response_rate": shown(plan["response_rate"] * 100),
            "by_stratum": plan.get("by_stratum", False),
            "strata": "\n".join(f"{k} = {v}" for k, v in (plan.get("strata") or {}).items()),
        }


FRAME_COLUMN_HELP = _l("The header of the column, as written in the file's first row.")


class FrameForm(forms.Form):
    file = forms.FileField(
        label=_l("Sampling frame (CSV or Excel)"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.txt,.tsv,.xlsx,.xls,.ods"}),
    )
    address_column = forms.CharField(
        label=_l("Column with the address (e-mail, phone or postal)"),
        max_length=200,
        help_text=FRAME_COLUMN_HELP,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    stratum_column = forms.CharField(
        label=_l("Column with the stratum (optional)"),
        max_length=200,
        required=False,
        help_text=FRAME_COLUMN_HELP,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class DrawForm(forms.Form):
    METHODS = [
        ("simple", _l("Simple random sample")),
        ("systematic", _l("Systematic sample (every k-th on the list)")),
        ("proportional", _l("Stratified, proportional to the strata")),
        ("sizes", _l("Stratified, with a set size per stratum")),
    ]
    method = forms.ChoiceField(
        label=_l("Method"), choices=METHODS, widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    n = NumberField(label=_l("Sample size (people to contact)"), low=1, whole=True, required=False)
    sizes = forms.CharField(
        label=_l("Size per stratum"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text=_l("One stratum a line: name = number to draw."),
    )
    seed = NumberField(
        label=_l("Seed (optional)"),
        low=0,
        high=2**63 - 1,
        whole=True,
        required=False,
        help_text=_l("The same seed draws the same sample again; left empty, one is chosen and recorded."),
    )

    def clean(self):
        data = super().clean()
        method = data.get("method")
        if method in {"simple", "systematic", "proportional"} and not data.get("n"):
            self.add_error("n", _("Give the number of people to contact."))
        if method == "sizes":
            sizes = {}
            for number, line in enumerate(data.get("sizes", "").splitlines(), start=1):
                if not line.strip():
                    continue
                name, sep, size = line.rpartition("=")
                try:
                    value = parse_number(size)
                except NumberError:
                    value = None
                if not sep or value is None or value < 0 or not float(value).is_integer():
                    self.add_error(
                        "sizes", _("Line %(line)s: write 'stratum = number', e.g. centre = 120.") % {"line": number}
                    )
                    return data
                sizes[name.strip()] = int(value)
            if not sizes:
                self.add_error("sizes", _("Give the number to draw from each stratum."))
            data["sizes"] = sizes
        return data
