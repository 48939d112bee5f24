"""Editing an indicator's definition, and the checks a formula must pass before it is saved.

The checks are the compute engine's own (municipium.benchmarks.engine.Context.expanded: parse,
names, cycles), run against the catalogue with the typed formula in place of the stored one,
so what the form accepts is exactly what the engine can compute.
"""

import re

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from municipium.benchmarks import engine
from municipium.lib.formulas import FormulaError, parse
from municipium.lib.texts import normalise

from .models import Indicator


def adapted_prefix(group) -> str:
    """Codes of a group's own (adapted) indicators start with this: `<group>__`.

    Group codes may hold hyphens ("pl-exchange"), which an indicator code may not (codes are
    names in formulas), so anything else than a letter, digit or underscore becomes "_"."""
    return re.sub(r"[^A-Za-z0-9_]", "_", group.code) + "__"


def formula_context(indicator: Indicator, text: str) -> engine.Context:
    """An engine context in which `indicator` has the formula `text`; raises FormulaError
    (with column and unknown name, or the circle of indicators) when it cannot be computed."""
    formula = parse(text)
    ctx = engine.Context()
    formula.check(set(ctx.variables) | set(ctx.by_code))
    # The rows are shared by `indicators` and `by_code`: one assignment changes both.
    ctx.by_code[indicator.code]["formula"] = text
    ctx.expanded(indicator.code)
    return ctx


def _languages():
    for code in settings.LANGUAGE_CODES:
        yield code, get_language_info(code)["name_local"]


class IndicatorForm(forms.Form):
    """Name, definition and unit of measure per language; formula; presentation; targets."""

    # Not stripped before checking: error columns must count what the person typed.
    formula = forms.CharField(
        label=_("Formula"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
    )
    decimals = forms.IntegerField(label=_("Decimals"), min_value=0, max_value=6)
    polarity = forms.ChoiceField(label=_("Polarity"), choices=Indicator.Polarity.choices)
    target = forms.FloatField(label=_("Target"), required=False)
    threshold_good = forms.FloatField(label=_("Threshold for good"), required=False)
    threshold_poor = forms.FloatField(label=_("Threshold for poor"), required=False)

    TEXTS = ("name", "definition", "unit_of_measure")

    def __init__(self, *args, indicator: Indicator, **kwargs):
        initial = {
            "formula": indicator.formula,
            "decimals": indicator.decimals,
            "polarity": indicator.polarity,
            "target": indicator.target,
            "threshold_good": (indicator.thresholds or {}).get("good"),
            "threshold_poor": (indicator.thresholds or {}).get("poor"),
        }
        for language, _name in _languages():
            for field in self.TEXTS:
                initial[f"{field}_{language}"] = (getattr(indicator, field) or {}).get(language, "")
        super().__init__(*args, initial=initial, **kwargs)
        self.indicator = indicator
        self.languages = []
        for language, name in _languages():
            attrs = {"lang": language, "dir": "rtl" if get_language_info(language)["bidi"] else "ltr"}
            self.fields[f"name_{language}"] = forms.CharField(
                label=_("Name (%(language)s)") % {"language": name},
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs=attrs),
            )
            self.fields[f"definition_{language}"] = forms.CharField(
                label=_("Definition (%(language)s)") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs=attrs | {"rows": 2}),
            )
            self.fields[f"unit_of_measure_{language}"] = forms.CharField(
                label=_("Unit of measure (%(language)s)") % {"language": name},
                required=False,
                max_length=100,
                widget=forms.TextInput(attrs=attrs),
            )
            self.languages.append(
                {"code": language, "name": name, "fields": [self[f"{field}_{language}"] for field in self.TEXTS]}
            )
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    @property
    def presentation_fields(self):
        return [self[name] for name in ("decimals", "polarity", "target", "threshold_good", "threshold_poor")]

    def clean_formula(self):
        text = self.cleaned_data["formula"]
        try:
            formula_context(self.indicator, text)
        except FormulaError as error:
            raise forms.ValidationError(str(error), code="formula") from error
        return text.strip()

    def clean(self):
        data = super().clean()
        if not any((data.get(f"name_{language}") or "").strip() for language, _n in _languages()):
            self.add_error(
                f"name_{settings.LANGUAGE_CODE.split('-')[0]}", _("Give the indicator a name in at least one language.")
            )
        return data

    def apply(self) -> Indicator:
        """Copy the cleaned values onto the indicator (not saved)."""
        data, indicator = self.cleaned_data, self.indicator
        for field in self.TEXTS:
            setattr(
                indicator,
                field,
                normalise({language: data.get(f"{field}_{language}", "") for language, _n in _languages()}),
            )
        indicator.formula = data["formula"]
        indicator.decimals = data["decimals"]
        indicator.polarity = data["polarity"]
        indicator.target = data["target"]
        indicator.thresholds = {
            key: data[f"threshold_{key}"] for key in ("good", "poor") if data.get(f"threshold_{key}") is not None
        }
        indicator.__dict__.pop("parsed", None)
        return indicator
