"""The forms of the team pages and of a container's grants. They check the shape of what was
sent; who may do it is checked by `console.accounts.actions`, the same calls the API makes."""
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from console.core.roles import GRANTABLE_ACTIONS, Role
from console.hosts.models import Host
from console.teams.models import Team

ACTION_LABELS = {"view": "see it", "logs": "read its logs", "inspect": "inspect it",
                 "terminal": "open a terminal"}


def active_user(username: str):
    user = get_user_model().objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise forms.ValidationError(f"No such user: {username.strip()}.")
    return user


class UserField(forms.CharField):
    """A username in, the active user out."""

    def __init__(self, **kwargs):
        super().__init__(max_length=150, **kwargs)

    def clean(self, value):
        return active_user(super().clean(value))


class TeamForm(forms.Form):
    name = forms.CharField(max_length=64)
    description = forms.CharField(max_length=300, required=False)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Team.objects.filter(name=name).exists():
            raise forms.ValidationError(f"A team named {name} exists.")
        return name


class MemberForm(forms.Form):
    user = UserField(label="Username")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class NewUserForm(forms.Form):
    """A new account, added to the team with a role (superusers)."""

    username = forms.RegexField(max_length=150, regex=r"^[\w.@+-]+\Z",
                                error_messages={"invalid": "Letters, digits and @ . + - _ only."})
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, min_length=1)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(f"The username {username} is taken.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("username"):
            user = get_user_model()(username=data["username"], email=data.get("email", ""))
            try:
                validate_password(data["password"], user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class HostGrantForm(forms.Form):
    host = forms.ModelChoiceField(queryset=Host.objects.none(), empty_label="choose a host…")

    def __init__(self, team, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = Host.objects.exclude(grants__team=team)


class TeamSettingsForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["description", "terminal_user"]
        labels = {"terminal_user": "Terminal user"}


class ContainerGrantForm(forms.Form):
    user = UserField(label="Username")
    actions = forms.MultipleChoiceField(
        choices=[(a, ACTION_LABELS.get(a, a)) for a in GRANTABLE_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one action."})
