"""The mapping page's form: its shape; `console.sso.actions` checks who may add one."""
from django import forms

from console.core.roles import Role
from console.sso.models import Source
from console.teams.models import Team


class GroupMappingForm(forms.Form):
    source = forms.ChoiceField(choices=Source.choices, label="Directory")
    group = forms.CharField(max_length=255, help_text="OpenID Connect: a value of the groups "
                                                      "claim; LDAP: the group's name or DN")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="name",
                                  empty_label="choose a team…")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
