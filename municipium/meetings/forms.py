"""The forms of the meetings pages. They check shapes (dates, lengths, choices); the rules
that span records (no overlapping meetings, no deadline before the meeting, the council
decision after the window) are the services', whose `MeetingError` the page puts beside the
field it names (`put_error`)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from municipium.catalog.models import ServiceArea
from municipium.lib.texts import pick
from municipium.places.models import Group, Membership, Unit

from . import access, links
from .models import Attendance, Body, Comment, Consultation, Decision, Meeting, Member

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def put_error(form, error) -> None:
    """A service's refusal (MeetingError, PlanError, CooperationError: each has `message` and
    `field`) beside the field it names, or above the form when the form has no such field."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def scope_choices(user, *, with_groups: bool = True) -> list:
    """The units (and groups) the user may set up a body or consultation for, as select options."""
    units, groups = access.foundable(user)
    units = units.order_by("code")
    groups = groups.order_by("code") if with_groups else []
    choices = []
    if groups:
        choices.append((_("Groups"), [(f"group:{g.code}", g.label) for g in groups]))
    if units:
        choices.append((_("Units"), [(f"unit:{u.code}", u.label) for u in units]))
    return choices


class BodyForm(forms.ModelForm):
    scope = forms.ChoiceField(label=_("Attached to"), help_text=_("The unit or group whose body this is."))

    class Meta:
        model = Body
        fields = [
            "name",
            "code",
            "kind",
            "appointed_by",
            "act_number",
            "act_date",
            "mandate",
            "themes",
            "service_areas",
            "term_start",
            "term_end",
            "quorum",
        ]
        labels = {"code": _("Short name for addresses")}
        widgets = {
            "act_date": DATE,
            "term_start": DATE,
            "term_end": DATE,
            "mandate": forms.Textarea(attrs={"rows": 4}),
            "service_areas": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_areas"].queryset = ServiceArea.objects.order_by("code")
        self.fields["service_areas"].label_from_instance = lambda a: pick(a.name).text or a.code
        if self.instance.pk:
            del self.fields["scope"]
            self.fields["code"].disabled = True
        else:
            self.fields["scope"].choices = scope_choices(user)

    def clean_scope(self):
        kind, _sep, code = self.cleaned_data["scope"].partition(":")
        model = Unit if kind == "unit" else Group
        found = model.objects.filter(code=code).first()
        if found is None:
            raise forms.ValidationError(_("Choose a unit or group from the list."))
        return found

    def apply_scope(self, body: Body) -> Body:
        scope = self.cleaned_data.get("scope")
        if isinstance(scope, Unit):
            body.unit, body.group = scope, None
        elif isinstance(scope, Group):
            body.unit, body.group = None, scope
        return body


class MemberForm(forms.ModelForm):
    username = forms.CharField(
        label=_("Account (user name, optional)"),
        required=False,
        help_text=_("With an account the person reads internal minutes; a secretary also edits."),
    )

    class Meta:
        model = Member
        fields = ["name", "role", "affiliation", "kind"]

    def clean_username(self):
        name = self.cleaned_data.get("username", "").strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise forms.ValidationError(_("There is no account named %(name)s.") % {"name": name})
        return user


def _scope_units(body: Body):
    if body.unit_id:
        return Unit.objects.filter(pk=body.unit_id)
    ids = Membership.objects.filter(group_id=body.group_id).values("unit_id")
    return Unit.objects.filter(pk__in=ids).order_by("code")


class MeetingForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = ["title", "starts", "ends", "place", "host"]
        widgets = {"starts": DATETIME, "ends": DATETIME}

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = _scope_units(body)
        self.fields["host"].label_from_instance = lambda u: u.label
        for name in ("starts", "ends"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class AgendaForm(forms.Form):
    title = forms.CharField(label=_("Item"), max_length=300)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    link = forms.ChoiceField(label=_("Links to"), required=False)

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        self.body = body
        self.fields["link"].choices = [("", _("(nothing)")), *links.grouped_choices(body)]

    def clean_link(self):
        value = self.cleaned_data.get("link")
        if not value:
            return None
        found = links.resolve(value, self.body)
        if found is None:
            raise forms.ValidationError(_("Choose an item from the list."))
        return found


class MinutesForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = ["status", "minutes", "site_visits", "next_host", "next_place"]
        widgets = {"minutes": forms.Textarea(attrs={"rows": 10}), "site_visits": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"minutes": _("Paragraphs, lists, bold and links are kept; anything else is removed.")}

    def __init__(self, *args, body, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_host"].queryset = _scope_units(body)
        self.fields["next_host"].label_from_instance = lambda u: u.label


class AttendanceForm(forms.Form):
    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        current = {a.member_id: a.status for a in meeting.attendance.all()}
        for member in meeting.body.members.all():
            self.fields[f"m{member.pk}"] = forms.ChoiceField(
                label=member.name, choices=Attendance.Status.choices, initial=current.get(member.pk, "present")
            )

    def statuses(self) -> dict[int, str]:
        return {int(name[1:]): value for name, value in self.cleaned_data.items()}


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("Decision"), widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Member.objects.none(), required=False)
    owner_unit = forms.ModelChoiceField(label=_("Responsible unit"), queryset=Unit.objects.none(), required=False)
    deadline = forms.DateField(label=_("Deadline"), required=False, widget=DATE)

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = meeting.body.members.all()
        self.fields["owner_unit"].queryset = _scope_units(meeting.body)
        self.fields["owner_unit"].label_from_instance = lambda u: u.label


class DecisionStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Decision.Status.choices)
    note = forms.CharField(label=_("Note on the status"), required=False, max_length=2000)


class ConsultationForm(forms.ModelForm):
    scope = forms.ChoiceField(label=_("Unit"))
    upload = forms.FileField(
        label=_("Document"),
        required=False,
        help_text=_("PDF, OpenDocument text or Word, at most 10 MB."),
    )

    class Meta:
        model = Consultation
        fields = ["code", "title", "summary", "body", "opens", "closes", "council_deadline", "published"]
        labels = {"code": _("Short name for addresses")}
        widgets = {
            "opens": DATE,
            "closes": DATE,
            "council_deadline": DATE,
            "summary": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, user, managed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].queryset = Body.objects.filter(pk__in=[b.pk for b in managed])
        if self.instance.pk:
            del self.fields["scope"]
            self.fields["code"].disabled = True
        else:
            self.fields["scope"].choices = scope_choices(user, with_groups=False)

    def clean_scope(self):
        code = self.cleaned_data["scope"].partition(":")[2]
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(_("Choose a unit from the list."))
        return unit


class CommentForm(forms.ModelForm):
    # A honeypot: hidden from people (CSS and aria-hidden), filled by form-filling robots.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    class Meta:
        model = Comment
        fields = ["name", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 5, "maxlength": 5000})}


class ModerateForm(forms.Form):
    state = forms.ChoiceField(label=_("Moderation"), choices=Comment.State.choices)
    theme = forms.CharField(label=_("Theme"), required=False, max_length=120)


class AnswerForm(forms.Form):
    response = forms.CharField(label=_("Response"), widget=forms.Textarea(attrs={"rows": 3}))
    change = forms.CharField(
        label=_("What changed in the proposal"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CouncilForm(forms.Form):
    council_number = forms.CharField(label=_("Number of the council decision"), max_length=64)
    council_date = forms.DateField(label=_("Date of the council decision"), widget=DATE)
    council_summary = forms.CharField(
        label=_("What the council decided"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
