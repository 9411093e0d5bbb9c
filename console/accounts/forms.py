"""The forms of the login, two-factor and login settings pages. They check the shape of what
was sent; `console.accounts.actions` checks who may do it."""
from django import forms

from console.accounts.models import LoginPolicy
from console.core.forms import UserField


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, label="Code", strip=True, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
               "spellcheck": "false"}))


class LoginPolicyForm(forms.ModelForm):
    class Meta:
        model = LoginPolicy
        fields = ["local_accounts", "two_factor_for_everyone", "two_factor_for_superusers"]
        labels = {"local_accounts": "Local accounts",
                  "two_factor_for_everyone": "Two-factor login for everyone",
                  "two_factor_for_superusers": "Two-factor login for superusers"}


class ResetSecondFactorForm(forms.Form):
    user = UserField(label="Username")


class TeamTwoFactorForm(forms.Form):
    required = forms.BooleanField(required=False, label="Require two-factor login")
