"""Forms of the invitation pages: offering a role, and choosing an account to accept it with."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from municipium.places.models import Group, Membership, Unit

from . import access, throttle
from .models import Role


class InvitationForm(forms.Form):
    """Who and what: an administrator may offer any role anywhere, a coordinator any role
    but administrator, on their group or on one of its member units (the choices offered
    are exactly those, and `access.can_invite` checks again)."""

    email = forms.EmailField(label=gettext_lazy("E-mail address"))
    kind = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.Kind.choices)
    group = forms.ModelChoiceField(
        label=gettext_lazy("Group"), queryset=Group.objects.none(), to_field_name="code", required=False
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("Unit (leave empty for a role on the whole group)"),
        queryset=Unit.objects.none(),
        to_field_name="code",
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if access.is_admin(user):
            groups, units = Group.objects.all(), Unit.objects.all()
        else:
            mine = access.coordinated_groups(user)
            groups = Group.objects.filter(pk__in=mine)
            units = Unit.objects.filter(pk__in=Membership.objects.filter(group_id__in=mine).values("unit_id"))
            self.fields["kind"].choices = [c for c in Role.Kind.choices if c[0] != Role.Kind.ADMIN]
        self.fields["group"].queryset = groups.order_by("code")
        self.fields["unit"].queryset = units.order_by("code")
        self.fields["group"].label_from_instance = lambda g: f"{g.label} ({g.code})"
        self.fields["unit"].label_from_instance = lambda u: f"{u.label} ({u.code})"
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"

    def clean(self):
        data = super().clean()
        kind, group, unit = data.get("kind"), data.get("group"), data.get("unit")
        if not kind:
            return data
        if kind == Role.Kind.ADMIN:
            data["group"] = data["unit"] = None
        elif unit is None and group is None:
            raise forms.ValidationError(_("Choose the group, or the unit, on which the role applies."))
        elif unit is not None and group is not None and not Membership.objects.filter(group=group, unit=unit).exists():
            self.add_error(
                "unit", _("%(unit)s is not a member of %(group)s.") % {"unit": unit.label, "group": group.label}
            )
        elif unit is not None:
            data["group"] = None  # a role on the unit; the group only narrowed the choice
        if not self.errors and not access.can_invite(self.user, kind, unit=data["unit"], group=data["group"]):
            raise forms.ValidationError(_("You may not offer this role there."))
        return data


def name_taken(username: str) -> bool:
    """Whether a user name normalises (NFKC and case folded, as the log-in throttle counts
    names: `throttle.normalised`) to that of an existing user: "ｏｆｆｉｃｅｒ" or "oﬃcer" would
    be saved as "officer" (Django stores names NFKC), "straße" counts as "strasse". Folding
    happens in Python, which SQL's case-insensitive match does not do alike everywhere."""
    wanted = throttle.normalised(username)
    names = get_user_model().objects.values_list("username", flat=True)
    return any(throttle.normalised(name) == wanted for name in names.iterator())


class NewAccountForm(forms.Form):
    """A user name and password for the invitee, checked by Django's password validators."""

    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    password1 = forms.CharField(
        label=gettext_lazy("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        model = get_user_model()
        model.username_validator(username)
        if model.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("The user name %(name)s is taken; choose another.") % {"name": username})
        if name_taken(username):
            raise forms.ValidationError(
                _("The user name %(name)s reads the same as one already taken; choose another.") % {"name": username}
            )
        return username

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first and data.get("username"):
            # Validators compare the password with the name and e-mail, so give them an unsaved user.
            candidate = get_user_model()(username=data["username"], email=self.email)
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
