"""The Volumes page's form for a new volume; its check is the API's (`actions.check_create`)."""
from django import forms

from console.core.forms import RequestForm, host_choices, offer_teams
from console.hosts.models import Host
from console.volumes import actions


class VolumeForm(RequestForm):
    name = forms.CharField(max_length=255, help_text="letters, digits, _ . -")
    team = forms.ChoiceField(required=False)
    host = forms.ChoiceField()

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        offer_teams(self.fields["team"], self.user, "create", no_team="(no team)")
        self.fields["host"].choices = host_choices(Host.objects.restrict(self.user, "run"))

    def api_fields(self, data: dict) -> dict:
        return {"name": data.get("name") or "", "team": data.get("team") or None,
                "host": data.get("host") or None}

    def check(self, fields: dict):
        return actions.check_create(self.user, fields, request=self.request)
