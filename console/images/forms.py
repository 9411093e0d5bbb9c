"""The tag form (a name for an image, or for the image a commit made; the commit form takes
its fields too), and the pull and build forms, which check their requests as the API does
(`actions.check_pull`, `actions.check_build`)."""
from django import forms
from django.conf import settings

from console.core.forms import RequestForm, host_choices, offer_teams
from console.hosts.models import Host
from console.images import actions
from console.images.requests import MAX_DOCKERFILE_CHARS, reference_errors, too_large


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


class ImageJobForm(RequestForm):
    """What the pull and build forms share: the team and the host."""

    action = ""             # "pull" or "build"
    team = forms.ChoiceField(required=False)
    host = forms.ChoiceField()

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        offer_teams(self.fields["team"], self.user, self.action,
                    no_team="(no team: a host image)")
        self.fields["host"].choices = host_choices(Host.objects.restrict(self.user, self.action))

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

    def check(self, fields):
        return actions.check_pull(self.user, fields, request=self.request)


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

    def check(self, fields):
        upload = self.cleaned_data.get("context")
        if upload is not None and upload.size > settings.BUILD_CONTEXT_MAX_BYTES:
            return actions.check_build(self.user, fields, context_problem=too_large(upload.size),
                                       request=self.request)
        return actions.check_build(self.user, fields, upload.read() if upload else None,
                                   request=self.request)
