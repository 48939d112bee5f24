"""Forms of the social-service planning pages: shapes only; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.meetings.forms import put_error  # noqa: F401 - the one way a service's refusal reaches a form
from municipium.places.models import Group

from .models import NormTable, Provider, Round, Service, ServiceType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _types():
    field = forms.ModelChoiceField(ServiceType.objects.all(), label=_("Service type"))
    field.label_from_instance = lambda t: t.label
    return field


class ServiceForm(forms.Form):
    provider = forms.CharField(label=_("Provider"), max_length=200)
    provider_kind = forms.ChoiceField(label=_("Kind of provider"), choices=Provider.Kind.choices)
    licence = forms.CharField(label=_("Licence"), max_length=100, required=False)
    service_type = _types()
    name = forms.CharField(label=_("Service"), max_length=200)
    year = forms.IntegerField(label=_("Year"))
    capacity = forms.FloatField(label=_("Capacity (places)"))
    users = forms.FloatField(label=_("Users"), required=False)
    waiting = forms.FloatField(label=_("Waiting list"), required=False)
    staff = forms.FloatField(label=_("Staff (FTE)"), required=False)
    funding = forms.ChoiceField(label=_("Funding"), choices=Service.Funding.choices)
    lon = forms.FloatField(label=_("Longitude"), required=False)
    lat = forms.FloatField(label=_("Latitude"), required=False)
    settlements = forms.ModelMultipleChoiceField(queryset=None, label=_("Settlements served"), required=False)

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"] = _types()
        self.fields["settlements"].queryset = unit.settlements.all()
        self.fields["settlements"].label_from_instance = lambda s: s.name


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Supply workbook (xlsx) or CSV"))


class RoundForm(forms.ModelForm):
    class Meta:
        model = Round
        fields = [
            "code",
            "title",
            "group",
            "year",
            "horizon",
            "norms",
            "projection",
            "assumptions",
            "opens",
            "agreement_deadline",
            "agency_deadline",
        ]
        widgets = {
            "opens": DATE,
            "agreement_deadline": DATE,
            "agency_deadline": DATE,
            "assumptions": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "assumptions": _(
                'JSON, e.g. {"survival": {"0-14": 0.999, "15-64": 0.996, "65-79": 0.97, "80+": 0.86}, '
                '"migration": {"15-64": -0.005}, "births_per_person": 0.013, "mothers": ["15-64"]}. '
                'For a population by age band and sex, a ratio may be stated for a band and sex ("80+ F": 0.88), '
                'and births need the mothers\' sex and the shares of births by sex: "mothers_sex": "F", '
                '"birth_shares": {"M": 0.512, "F": 0.488}.'
            )
        }

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["group"].label_from_instance = lambda g: g.label
        self.fields["norms"].queryset = NormTable.objects.all()


class LineForm(forms.Form):
    service_type = _types()
    places = forms.FloatField(label=_("Places"))
    funding = forms.ChoiceField(label=_("Funding"), choices=Service.Funding.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"] = _types()


class ConsultationForm(forms.Form):
    opens = forms.DateField(label=_("Open for comment from"), widget=DATE)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SentForm(forms.Form):
    sent_on = forms.DateField(label=_("Sent to the agency on"), widget=DATE)


class SharedForm(forms.Form):
    service_type = _types()
    host = forms.ModelChoiceField(queryset=None, label=_("Host"))
    places = forms.IntegerField(label=_("Places"), min_value=1)
    parties = forms.ModelMultipleChoiceField(queryset=None, label=_("Municipalities served"))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"] = _types()
        for name in ("host", "parties"):
            self.fields[name].queryset = units
            self.fields[name].label_from_instance = lambda u: u.label


class AccessForm(forms.Form):
    METHODS = [
        ("none", _("2SFCA (no distance decay)")),
        ("step", _("E2SFCA, step decay (1, 0.68, 0.22)")),
        ("gaussian", _("E2SFCA, Gaussian decay")),
    ]
    service_type = forms.ModelChoiceField(queryset=None, label=_("Service type"))
    method = forms.ChoiceField(label=_("Method"), choices=METHODS, initial="none")
    size = forms.FloatField(label=_("Catchment (km, or minutes with a matrix)"), min_value=0.1, initial=30)

    def __init__(self, *args, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"].queryset = types
        self.fields["service_type"].label_from_instance = lambda t: t.label


class MatrixForm(forms.Form):
    matrix = forms.FileField(label=_("Travel-time matrix (settlement, service, minutes)"))


def district_groups(user):
    from municipium.accounts import access

    if access.is_admin(user):
        return Group.objects.all().order_by("code")
    return Group.objects.filter(pk__in=access.coordinated_groups(user)).order_by("code")


LANGUAGE_NAMES = {
    "en": _("Name in English"),
    "pl": _("Name in Polish"),
    "sr": _("Name in Serbian"),
    "bg": _("Name in Bulgarian"),
    "lt": _("Name in Lithuanian"),
    "fa": _("Name in Persian"),
}


class ServiceTypeForm(forms.ModelForm):
    """A service type with its name in each working language (stored as one JSON field)."""

    class Meta:
        model = ServiceType
        fields = ["code", "kind", "level", "country", "minimum_places", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = self.instance.name or {}
        for code, label in LANGUAGE_NAMES.items():
            self.fields[f"name_{code}"] = forms.CharField(
                label=label, max_length=200, required=code == "en", initial=names.get(code, "")
            )
        if self.instance.pk:
            self.fields["code"].disabled = True

    def names(self) -> dict:
        data = self.cleaned_data
        return {code: data[f"name_{code}"].strip() for code in LANGUAGE_NAMES if data.get(f"name_{code}", "").strip()}


class NormTableForm(forms.ModelForm):
    class Meta:
        model = NormTable
        fields = ["code", "version", "title", "jurisdiction", "status", "effective", "source", "group"]
        widgets = {"effective": DATE, "source": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, groups, shared_allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["group"].label_from_instance = lambda g: g.label
        self.fields["group"].required = not shared_allowed
        self.fields["group"].help_text = _("The district whose coordinators keep the table; empty: a shared table.")


class NormForm(forms.Form):
    """One row of a norms table: places per `per` people of a target group (a population
    variable and some of its breakdown's categories, e.g. 65-79, 80+)."""

    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    service_type = forms.ModelChoiceField(queryset=None, label=_("Service type"))
    variable = forms.ModelChoiceField(queryset=None, label=_("Target population"))
    categories = forms.CharField(
        label=_("Categories"),
        required=False,
        max_length=300,
        help_text=_("Codes of the breakdown's categories, separated by commas (e.g. 65-79, 80+); empty: the total."),
    )
    places = forms.FloatField(label=_("Places"))
    per = forms.FloatField(label=_("Per people"), initial=1000)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        from municipium.catalog.models import Variable

        super().__init__(*args, **kwargs)
        self.fields["service_type"].queryset = ServiceType.objects.all()
        self.fields["service_type"].label_from_instance = lambda t: t.label
        self.fields["variable"].queryset = Variable.objects.select_related("breakdown").order_by("code")
        self.fields["variable"].label_from_instance = lambda v: f"{v.label} ({v.code})"

    def clean_categories(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["categories"].split(",") if c.strip()]


NormFormSet = forms.formset_factory(NormForm, extra=2, can_delete=True)
