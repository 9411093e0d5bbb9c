"""The forms of the team pages. They check the shape of what was sent; who may do it is
checked by `console.teams.actions`, the same calls the API makes."""
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from console.core.forms import UserField
from console.core.roles import Role
from console.hosts.models import Host
from console.teams.models import Team
from console.teams.reasons import REASON_ACTIONS


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
    reasons_required_for = forms.MultipleChoiceField(
        choices=list(REASON_ACTIONS.items()), widget=forms.CheckboxSelectMultiple,
        required=False, label="A reason is required for",
        help_text="kept in the audit entry and shown in the history")

    class Meta:
        model = Team
        fields = ["description", "terminal_user", "reasons_required_for"]
        labels = {"terminal_user": "Terminal user"}

