"""Forms of the cooperation pages: shapes only; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.accounts import access
from municipium.catalog.models import Indicator, ServiceArea
from municipium.lib.numbers import separator
from municipium.lib.texts import pick
from municipium.meetings.forms import put_error  # noqa: F401 - the one way a service's refusal reaches a form
from municipium.places.models import Group, Unit

from .models import DRIVERS, Agreement, Facility, Obligation, Party, Scenario

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def coordinated(user):
    if access.is_admin(user):
        return Group.objects.all()
    return Group.objects.filter(pk__in=access.coordinated_groups(user))


class AgreementForm(forms.ModelForm):
    class Meta:
        model = Agreement
        fields = [
            "code",
            "title",
            "kind",
            "group",
            "status",
            "subject",
            "service_areas",
            "legal_form",
            "signed",
            "in_force",
            "review",
            "expiry",
            "governance",
            "exit_rules",
            "dispute_rules",
            "indicators",
            "published",
        ]
        widgets = {
            "signed": DATE,
            "in_force": DATE,
            "review": DATE,
            "expiry": DATE,
            "subject": forms.Textarea(attrs={"rows": 3}),
            "governance": forms.Textarea(attrs={"rows": 2}),
            "exit_rules": forms.Textarea(attrs={"rows": 2}),
            "dispute_rules": forms.Textarea(attrs={"rows": 2}),
            "service_areas": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = coordinated(user).order_by("code")
        self.fields["group"].label_from_instance = lambda g: g.label
        self.fields["service_areas"].queryset = ServiceArea.objects.order_by("code")
        self.fields["service_areas"].label_from_instance = lambda a: pick(a.name).text or a.code
        self.fields["indicators"].queryset = Indicator.objects.order_by("code")
        self.fields["indicators"].label_from_instance = lambda i: f"{i.code}{separator()}{i.label}"
        if self.instance.pk:
            self.fields["code"].disabled = True


class PartyForm(forms.ModelForm):
    class Meta:
        model = Party
        fields = ["unit", "council_number", "council_date", "signatory", "seats", "votes"]
        widgets = {"council_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.order_by("code")
        self.fields["unit"].label_from_instance = lambda u: f"{u.code}{separator()}{u.label}"


class ObligationForm(forms.ModelForm):
    class Meta:
        model = Obligation
        fields = ["party", "text", "due"]
        widgets = {"due": DATE, "text": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, agreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = agreement.parties.select_related("unit")


class ReportForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Obligation.Status.choices)
    evidence = forms.CharField(label=_("Evidence"), required=False, max_length=2000)


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Document (PDF or office file, at most 10 MB)"))


class FacilityForm(forms.ModelForm):
    coalition_text = forms.CharField(
        label=_("Cost of each coalition (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One line each: unit codes joined by + = yearly cost, e.g. RS-70343+RS-70262 = 410000. "
            "Empty: the cost function below is used."
        ),
    )

    class Meta:
        model = Facility
        fields = [
            "code",
            "name",
            "kind",
            "group",
            "agreement",
            "year",
            "capital_cost",
            "interest_rate",
            "lifetime",
            "fixed_opex",
            "variable_opex",
            "fixed_driver",
            "variable_driver",
            "scale_driver",
            "scale_fixed",
            "scale_unit",
            "scale_exponent",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = coordinated(user).order_by("code")
        self.fields["group"].label_from_instance = lambda g: g.label
        if self.instance.pk:
            self.fields["code"].disabled = True
            self.fields["coalition_text"].initial = "\n".join(
                f"{k} = {v}" for k, v in sorted((self.instance.coalition_costs or {}).items())
            )

    def clean_coalition_text(self):
        out = {}
        for number, line in enumerate((self.cleaned_data.get("coalition_text") or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            try:
                if not sep:
                    raise ValueError
                out["+".join(sorted(c.strip() for c in key.split("+")))] = float(value.strip().replace(",", "."))
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(line)s is not “codes = cost”: %(text)s") % {"line": number, "text": line}
                ) from None
        return out


class ParticipantForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Participant"), queryset=Unit.objects.none())

    def __init__(self, *args, facility, **kwargs):
        super().__init__(*args, **kwargs)
        from municipium.places.models import Membership

        ids = Membership.objects.filter(group=facility.group).values("unit_id")
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=ids).order_by("code")
        self.fields["unit"].label_from_instance = lambda u: u.label


class ScenarioForm(forms.ModelForm):
    """A what-if on the facility's figures; the fields left empty keep the facility's own."""

    class Meta:
        model = Scenario
        fields = ["name", *Scenario.FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in Scenario.FIELDS:
            self.fields[name].required = False
        for name in ("fixed_driver", "variable_driver"):
            self.fields[name].choices = [("", _("as the facility"))] + list(DRIVERS)


class DriversForm(forms.Form):
    """The typed drivers of one participant (empty: taken from its observations)."""

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label in DRIVERS:
            self.fields[code] = forms.FloatField(
                label=label, required=False, min_value=0, initial=(participant.drivers or {}).get(code)
            )
            self.fields[f"actual_{code}"] = forms.FloatField(
                label=_("%(driver)s, actual") % {"driver": label},
                required=False,
                min_value=0,
                initial=(participant.actual or {}).get(code),
            )


class ZoneForm(forms.Form):
    source = forms.CharField(label=_("Water source"), max_length=200)
    level = forms.ChoiceField(
        label=_("Zone"),
        choices=[("I", _("Zone I (immediate)")), ("II", _("Zone II (inner)")), ("III", _("Zone III (outer)"))],
    )
    restrictions = forms.CharField(
        label=_("Restrictions in the zone"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    file = forms.FileField(label=_("Zone or outline as GeoJSON (longitude/latitude)"), required=False)
    lon = forms.FloatField(label=_("Intake longitude"), required=False)
    lat = forms.FloatField(label=_("Intake latitude"), required=False)
    distance = forms.FloatField(
        label=_("Distance in metres (a buffer around the intake or outline)"), required=False, min_value=1
    )


class InventoryLineForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    actor = forms.CharField(label=_("Actor"), max_length=200, help_text=_("A department, a utility, an agency."))
    category = forms.ChoiceField(label=_("Category"), choices=[])
    theme = forms.CharField(label=_("Theme"), max_length=120)
    item = forms.CharField(label=_("Resource"), max_length=200)
    measure = forms.CharField(label=_("Unit of measure"), max_length=40, required=False)
    have = forms.FloatField(label=_("Have"), min_value=0)
    need = forms.FloatField(label=_("Need"), min_value=0)

    def __init__(self, *args, group, units, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import InventoryLine

        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda u: u.label
        self.fields["category"].choices = InventoryLine.Category.choices


class InventoryUploadForm(forms.Form):
    file = forms.FileField(label=_("Inventory file (the Excel template, or CSV with the same columns)"))
