"""The stack editor's forms: a new stack (name, team, host, file, .env, message) and a new
version of one (file, .env, message). Their checks are the API's (`actions.check_create`,
`actions.check_change`), the problems beside their fields; the editor also checks as one
types (`POST /api/stacks/check/`, static/js/stack_editor.js). A reason, where the stack's team
requires one for a deploy, is asked for beside its field before the review."""
from django import forms

from console.core.forms import RequestForm, host_choices, offer_teams
from console.hosts.models import Host
from console.stacks import actions
from console.teams.reasons import MAX_LENGTH, require_reason

COMPOSE_HELP = ("the Compose Specification: services with their images, ports, named volumes, "
                "health checks, depends_on…; checked as you type")
ENV_HELP = "NAME=value lines, for ${NAME} in the file (its values are shown to developers only)"


def editor(rows: int):
    return forms.Textarea(attrs={"rows": rows, "class": "mono editor", "spellcheck": "false",
                                 "autocomplete": "off", "wrap": "off"})


class FileFields(RequestForm):
    compose = forms.CharField(label="Compose file", widget=editor(22), help_text=COMPOSE_HELP,
                              strip=False)
    env = forms.CharField(label=".env", widget=editor(5), required=False, help_text=ENV_HELP,
                          strip=False)
    message = forms.CharField(max_length=500, required=False,
                              help_text="what changes and why (shown in the history)")
    reason = forms.CharField(max_length=MAX_LENGTH, required=False,
                             help_text="why you deploy it, where the team requires a reason "
                                       "(kept in the audit log and the history)")

    def api_fields(self, data: dict) -> dict:
        # Browsers send a textarea's lines ending in CR LF; the file is kept as it was typed.
        return {"compose": (data.get("compose") or "").replace("\r\n", "\n"),
                "env": (data.get("env") or "").replace("\r\n", "\n"),
                "message": data.get("message") or ""}


class NewStackForm(FileFields):
    name = forms.CharField(max_length=63, help_text="the Compose project's name on the host: "
                                                    "lowercase letters, digits, - and _")
    team = forms.ChoiceField(required=False)
    host = forms.ChoiceField()

    field_order = ["name", "team", "host", "compose", "env", "message", "reason"]

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        offer_teams(self.fields["team"], self.user, "create", no_team="(no team)")
        self.fields["host"].choices = host_choices(Host.objects.restrict(self.user, "run"))

    def api_fields(self, data: dict) -> dict:
        return {"name": data.get("name") or "", "team": data.get("team") or None,
                "host": data.get("host") or None, **super().api_fields(data)}

    def check(self, fields: dict):
        req = actions.check_create(self.user, fields, request=self.request)
        require_reason(req.team, "stack-deploy", self.cleaned_data.get("reason"))
        return req


class ChangeStackForm(FileFields):
    def __init__(self, request, stack, *args, **kwargs):
        self.stack = stack
        super().__init__(request, *args, **kwargs)

    def check(self, fields: dict):
        req = actions.check_change(self.user, self.stack, fields, request=self.request)
        require_reason(self.stack.team, "stack-deploy", self.cleaned_data.get("reason"))
        return req
