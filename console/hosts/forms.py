"""The Hosts page's form for a join token. It only gathers the request: the name, the teams
and the lifetime are checked by the action the API calls too (`keys.make_join_token`), whose
problems are put beside the fields (`console.core.errors.on_form`)."""
from django import forms
from django.conf import settings

from console.hosts import keys
from console.teams.models import Team


class JoinTokenForm(forms.Form):
    # The API's name of a field -> the form's.
    api_names = {"expires_in": "lifetime"}

    name = forms.CharField(label="Host name", help_text="lowercase letters, digits and '-'; "
                                                        "its queue is host.<name>")
    teams = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="the teams that may use the host once it joins (none: superusers only)")
    lifetime = forms.IntegerField(
        label="Valid for (minutes)", widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=f"from 1 to {keys.MAX_TOKEN_SECONDS // 60} minutes "
                  f"({keys.MAX_TOKEN_SECONDS // 86400} days)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].choices = [(name, name) for name in
                                        Team.objects.order_by("name").values_list("name",
                                                                                  flat=True)]
        self.fields["lifetime"].initial = max(1, settings.JOIN_TOKEN_SECONDS // 60)

    def api_fields(self) -> dict:
        """What the API would be sent: `make_join_token`'s arguments."""
        data = self.cleaned_data
        return {"name": data["name"], "team_names": data["teams"],
                "seconds": data["lifetime"] * 60}
