"""The commit dialog, the tag form, and the pull and build forms. The commit form turns its
fields into the Dockerfile instructions `moor commit --change` takes (CMD, ENTRYPOINT, ENV,
WORKDIR, EXPOSE, LABEL, USER), checking each beside its field; `containers.actions` checks the
whole request again, as for the API. The author is whoever is logged in: there is no field for
it. The pull and build forms check their requests with `images.requests`, as the API does."""
import json
import re
import shlex

from django import forms
from django.conf import settings

from console.containers.forms import host_choices, offer_teams
from console.containers.options import ENV_NAME_PATTERN, InvalidRequest
from console.hosts.models import Host
from console.images.actions import reference_errors
from console.images.requests import (MAX_DOCKERFILE_CHARS, too_large, validate_build,
                                     validate_pull)
from console.teams.models import validate_container_user

PORT_PATTERN = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")
LABEL_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def command_field(label, help_text):
    return forms.CharField(required=False, max_length=2000, label=label, help_text=help_text)


class ReferenceForm(forms.Form):
    repository = forms.CharField(required=False, max_length=255,
                                 help_text="e.g. alpha/tool (lowercase)")
    tag = forms.CharField(required=False, max_length=128, help_text="e.g. v2; latest if empty")
    repository_required = False

    def clean(self):
        data = super().clean()
        errors = reference_errors((data.get("repository") or "").strip(),
                                  (data.get("tag") or "").strip(),
                                  required=self.repository_required)
        for name, problems in errors.items():
            for problem in problems:
                self.add_error(name, problem)
        return data


class TagForm(ReferenceForm):
    repository_required = True


class CommitForm(ReferenceForm):
    message = forms.CharField(required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="what changed and why; the first line is the subject")
    cmd = command_field("CMD", 'JSON, ["nginx", "-g", "daemon off;"], or a shell line')
    entrypoint = command_field("ENTRYPOINT", "JSON or a shell line")
    workdir = forms.CharField(required=False, max_length=1000, label="WORKDIR",
                              help_text="an absolute path, e.g. /srv")
    user = forms.CharField(required=False, max_length=65, label="USER",
                           validators=[validate_container_user], help_text="e.g. app or 1000:1000")
    env = forms.CharField(required=False, max_length=10000, label="ENV",
                          widget=forms.Textarea(attrs={"rows": 2}),
                          help_text="one NAME=value per line")
    expose = forms.CharField(required=False, max_length=500, label="EXPOSE",
                             help_text="ports, e.g. 80 443/tcp 53/udp")
    label = forms.CharField(required=False, max_length=10000, label="LABEL",
                            widget=forms.Textarea(attrs={"rows": 2}),
                            help_text="one key=value per line")
    pause = forms.BooleanField(required=False, initial=True,
                               label="Pause the container while committing")

    def clean_cmd(self):
        return self._command("cmd")

    def clean_entrypoint(self):
        return self._command("entrypoint")

    def _command(self, name):
        value = self.cleaned_data[name].strip()
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if not (isinstance(parsed, list) and all(isinstance(p, str) for p in parsed)):
                raise forms.ValidationError('A JSON list of strings, e.g. ["sleep", "60"], '
                                            "or a shell line without the brackets.")
        return value

    def clean_workdir(self):
        value = self.cleaned_data["workdir"].strip()
        if value and not value.startswith("/"):
            raise forms.ValidationError("An absolute path, starting with /.")
        return value

    def clean_env(self):
        pairs = []
        for line in lines(self.cleaned_data["env"]):
            name, sep, value = line.partition("=")
            if not sep or not ENV_NAME_PATTERN.match(name):
                raise forms.ValidationError(f"{line[:40]!r} is not NAME=value.")
            pairs.append((name, value))
        return pairs

    def clean_expose(self):
        ports = self.cleaned_data["expose"].split()
        for port in ports:
            if not PORT_PATTERN.match(port) or not 0 < int(port.split("/")[0]) < 65536:
                raise forms.ValidationError(f"{port!r} is not a port like 80 or 53/udp.")
        return ports

    def clean_label(self):
        pairs = []
        for line in lines(self.cleaned_data["label"]):
            key, sep, value = line.partition("=")
            if not sep or not LABEL_KEY_PATTERN.match(key.strip()):
                raise forms.ValidationError(f"{line[:40]!r} is not key=value.")
            pairs.append((key.strip(), value.strip()))
        return pairs

    def changes(self) -> list[str]:
        """The fields as `--change` instructions, in a fixed order."""
        data = self.cleaned_data
        changes = []
        for name, instruction in (("entrypoint", "ENTRYPOINT"), ("cmd", "CMD"),
                                  ("workdir", "WORKDIR"), ("user", "USER")):
            if data.get(name):
                changes.append(f"{instruction} {data[name]}")
        if data.get("env"):
            changes.append("ENV " + " ".join(f"{k}={shlex.quote(v)}" for k, v in data["env"]))
        if data.get("expose"):
            changes.append("EXPOSE " + " ".join(data["expose"]))
        if data.get("label"):
            changes.append("LABEL " + " ".join(f"{shlex.quote(k)}={shlex.quote(v)}"
                                               for k, v in data["label"]))
        return changes

    def action_params(self) -> dict:
        """The parameters of `containers.actions.act(..., "commit")`."""
        data = self.cleaned_data
        return {"repository": data["repository"].strip(), "tag": data["tag"].strip(),
                "message": data["message"], "changes": self.changes(),
                "pause": bool(data["pause"])}


class ImageJobForm(forms.Form):
    """What the pull and build forms share: the team and the host, and turning the fields
    into the API's request, checked by `images.requests` (errors beside their fields)."""

    action = ""             # "pull" or "build"
    team = forms.ChoiceField(required=False)
    host = forms.ChoiceField()

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.image_request = None
        self.refused = None         # the InvalidRequest, when the user may not do this at all
        self.request_data = {}
        offer_teams(self.fields["team"], user, self.action, no_team="(no team: a host image)")
        self.fields["host"].choices = host_choices(Host.objects.restrict(user, self.action))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        self.request_data = self.api_fields(data)
        try:
            self.image_request = self.validate(self.request_data)
        except InvalidRequest as error:
            if error.forbidden:
                self.refused = error
            for name, problems in error.errors.items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
        return data

    def api_fields(self, data) -> dict:
        return {"team": data.get("team") or None, "host": data.get("host")}


class PullForm(ImageJobForm):
    action = "pull"
    reference = forms.CharField(max_length=500, label="Image",
                                widget=forms.TextInput(attrs={
                                    "placeholder": "registry.example:5000/team/app:1",
                                    "autocomplete": "off", "spellcheck": "false"}),
                                help_text="name[:tag] or name@sha256:digest; a name without "
                                          "a registry is Docker Hub's")

    field_order = ["reference", "team", "host"]

    def api_fields(self, data) -> dict:
        return {**super().api_fields(data), "reference": data.get("reference", "")}

    def validate(self, fields):
        return validate_pull(self.user, fields)


class BuildForm(ImageJobForm):
    action = "build"
    tags = forms.CharField(max_length=1000, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "team/app:1",
                                                         "spellcheck": "false"}),
                           help_text="one or more name[:tag], separated by spaces")
    dockerfile = forms.CharField(label="Dockerfile", max_length=MAX_DOCKERFILE_CHARS,
                                 widget=forms.Textarea(attrs={
                                     "rows": 14, "class": "mono", "spellcheck": "false",
                                     "placeholder": "FROM busybox\nRUN ..."}))
    build_args = forms.CharField(label="Build arguments", required=False, max_length=20000,
                                 widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
                                 help_text="one NAME=value per line, for the Dockerfile's ARGs")
    context = forms.FileField(label="Context", required=False,
                              widget=forms.ClearableFileInput(attrs={
                                  "accept": ".tar,.tar.gz,.tgz,.tar.bz2,.tar.xz,"
                                            "application/x-tar,application/gzip"}),
                              help_text="optional: a tar archive of the files COPY and ADD "
                                        "read (.tar, .tar.gz, .tar.bz2, .tar.xz)")
    no_cache = forms.BooleanField(required=False, label="Do not use the build cache")

    field_order = ["team", "host", "tags", "dockerfile", "build_args", "context", "no_cache"]

    def api_fields(self, data) -> dict:
        return {**super().api_fields(data), "tags": data.get("tags", ""),
                "dockerfile": data.get("dockerfile", ""),
                "build_args": data.get("build_args", ""), "no_cache": bool(data.get("no_cache"))}

    def validate(self, fields):
        upload = self.cleaned_data.get("context")
        if upload is not None and upload.size > settings.BUILD_CONTEXT_MAX_BYTES:
            return validate_build(self.user, fields, context_problem=too_large(upload.size))
        return validate_build(self.user, fields, upload.read() if upload else None)
