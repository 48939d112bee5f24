"""Forms of the group workspace."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.catalog.models import Variable

from .models import Availability, Unit


class AvailabilityForm(forms.Form):
    """A coordinator's declaration for one member and variable, before the data come."""

    unit = forms.ModelChoiceField(label=_("Member"), queryset=Unit.objects.none(), to_field_name="code")
    variable = forms.ModelChoiceField(label=_("Variable"), queryset=Variable.objects.none(), to_field_name="code")
    status = forms.ChoiceField(label=_("Availability"), choices=Availability.Status.choices)
    source = forms.CharField(label=_("Source"), required=False, max_length=500)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def __init__(self, *args, units, variables, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.label} ({unit.code})"
        self.fields["variable"].queryset = variables
        self.fields["variable"].label_from_instance = lambda variable: f"{variable.label} ({variable.code})"
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
