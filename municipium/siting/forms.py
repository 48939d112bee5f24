"""Forms of the siting pages: shapes only; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from municipium.accounts import access
from municipium.meetings.forms import put_error  # noqa: F401 - the one way a service's refusal reaches a form
from municipium.places.models import Group

from .models import CriteriaSet, Criterion, Project, Topic


def founding_groups(user):
    """The groups in which the user may start a project: those they coordinate, or whose
    member municipality they answer for."""
    if access.is_admin(user):
        return Group.objects.all()
    units = access.reached_units(user, access.WRITE_KINDS)
    return (
        Group.objects.filter(pk__in=access.coordinated_groups(user))
        | Group.objects.filter(memberships__unit_id__in=units)
    ).distinct()


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [
            "code",
            "name",
            "group",
            "cell",
            "weighting",
            "method",
            "alpha",
            "threshold",
            "years",
            "growth",
            "kg_per_person_day",
            "density",
            "fill_height",
            "cover_share",
            "infrastructure_share",
            "weight_suitability",
            "weight_haul",
            "weight_area",
            "weight_compactness",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = founding_groups(user).order_by("code")
        self.fields["group"].label_from_instance = lambda g: g.label
        if self.instance.pk:
            del self.fields["code"]
            del self.fields["group"]


class MemberForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=None, label=_("Member"))
    population = forms.IntegerField(label=_("Population"), min_value=1)
    lon = forms.FloatField(label=_("Longitude of the waste centroid"), required=False)
    lat = forms.FloatField(label=_("Latitude of the waste centroid"), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        from municipium.places.models import Unit

        self.fields["unit"].queryset = Unit.objects.filter(memberships__group=project.group).order_by("code")
        self.fields["unit"].label_from_instance = lambda u: u.label


class LayerForm(forms.Form):
    topic = forms.ChoiceField(label=_("Layer"), choices=Topic.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("GeoJSON, GeoPackage, a zipped Shapefile (with its .prj) or a GeoTIFF; at most 20 MB."),
    )


class AreaForm(forms.Form):
    file = forms.FileField(label=_("Study area (polygons)"), required=False)


class AdoptForm(forms.Form):
    starter = forms.ModelChoiceField(queryset=CriteriaSet.objects.filter(project=None), label=_("Starter criteria"))


class CriteriaSetForm(forms.ModelForm):
    class Meta:
        model = CriteriaSet
        fields = ["name", "legal_status", "source"]
        widgets = {"source": forms.Textarea(attrs={"rows": 3})}


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = [
            "code",
            "name",
            "kind",
            "measure",
            "topic",
            "buffer_m",
            "low",
            "high",
            "shape",
            "benefit",
            "a",
            "b",
            "weight",
            "citation",
        ]
        widgets = {"citation": forms.Textarea(attrs={"rows": 2})}


class ExpertForm(forms.Form):
    """One expert's judgements: one field per pair of factors, above the diagonal."""

    name = forms.CharField(label=_("Expert"), max_length=200)

    def __init__(self, *args, factors, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs = []
        for i, a in enumerate(factors):
            for b in factors[i + 1 :]:
                key = f"{a.code}|{b.code}"
                field = f"pair_{i}_{factors.index(b)}"
                self.fields[field] = forms.CharField(
                    label=_("%(a)s against %(b)s") % {"a": a.name, "b": b.name},
                    initial="1",
                    max_length=12,
                    widget=forms.TextInput(
                        attrs={"inputmode": "decimal", "size": 4, "class": "form-control form-control-sm judgement"}
                    ),
                )
                self.pairs.append((field, key, a, b))

    def judgements(self) -> dict:
        return {key: self.cleaned_data[field] for field, key, _a, _b in self.pairs}


class HandOffForm(forms.Form):
    rank = forms.IntegerField(label=_("Site (rank)"), min_value=1)
