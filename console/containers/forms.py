"""The run form and the commit dialog. The run form's checks are the API's own
(`actions.check_run`); errors are shown beside the field they concern.

The commit form turns its fields into the Dockerfile instructions `moor commit --change` takes
(CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, LABEL, USER), checking each beside its field;
`containers.actions` checks the whole request again, as for the API. The author is whoever is
logged in: there is no field for it."""
import json
import re
import shlex

from django import forms

from console.containers import actions, publishing
from console.containers.run_request import ENV_NAME_PATTERN
from console.core.forms import RequestForm, host_choices, offer_teams
from console.hosts.models import ANY_HOST, Host
from console.images.forms import ReferenceForm
from console.images.models import Image
from console.teams.models import validate_container_user

ANY_HOST_LABEL = "Any host (the one with the most free memory)"
RESTART_CHOICES = [("no", "no"), ("on-failure", "on-failure"), ("always", "always"),
                   ("unless-stopped", "unless-stopped")]
PORT_PATTERN = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")
LABEL_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


def network_help(user) -> str:
    """The help beside the network field: what `user` may name."""
    if user.is_superuser:
        return ("empty: the team's own network (without a team: the host's bridge); bridge "
                "(the host's), none, any network's name, or container:NAME")
    return ("empty or bridge: your team's own network; none, another network of your team, "
            "or container:NAME")


def ports_help(user) -> str:
    """The help beside the ports field: where `user` may publish."""
    if user.is_superuser:
        return ("e.g. 8080:80 (also on the host's 127.0.0.1), 127.0.0.1:5353:53/udp, 443 (a "
                "free port)")
    allowed = publishing.rules()
    return (f"e.g. 8080:80, 443 (a free port); on {allowed.describe_addresses()}, host ports "
            f"{allowed.describe_ports()}")


class RunForm(RequestForm):
    team = forms.ChoiceField(required=False)
    host = forms.ChoiceField()
    image = forms.CharField(max_length=255, help_text="an image of the chosen host")
    name = forms.CharField(max_length=128, required=False)
    command = forms.CharField(max_length=2000, required=False,
                              help_text="as in a shell, e.g. sleep 300")
    env = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                          help_text="one NAME=value per line")
    memory = forms.CharField(max_length=32, required=False, help_text="e.g. 64m")
    cpus = forms.CharField(max_length=16, required=False, label="CPUs", help_text="e.g. 0.5")
    pids_limit = forms.CharField(max_length=16, required=False, label="PIDs limit")
    restart = forms.ChoiceField(choices=RESTART_CHOICES, initial="no", label="Restart policy")
    network = forms.CharField(max_length=160, required=False,
                              widget=forms.TextInput(attrs={"placeholder": "the team's own"}))
    ports = forms.CharField(max_length=500, required=False, label="Published ports")
    volumes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              help_text="one NAME:/path[:ro] per line: a volume of your team, "
                                        "made on first use")
    tty = forms.BooleanField(required=False, label="Allocate a terminal (-t)")

    api_names = {"cmd": "command", "binds": "volumes"}

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        offer_teams(self.fields["team"], self.user, "run", no_team="(no team)")
        self.hosts = list(Host.objects.restrict(self.user, "run"))
        # "Any host": the console chooses, by free memory (`console.hosts.placement`).
        self.fields["host"].choices = [(ANY_HOST, ANY_HOST_LABEL)] + host_choices(self.hosts)
        self.fields["network"].help_text = network_help(self.user)
        self.fields["ports"].help_text = ports_help(self.user)
        if self.user.is_superuser:
            self.fields["volumes"].help_text += "; or /host/dir:/path, a directory of the host"

    def images_by_host(self) -> list[tuple[str, list[Image]]]:
        images = (Image.objects.restrict(self.user, "run")
                  .filter(host__in=self.hosts).select_related("host", "team"))
        grouped = {}
        for image in images:
            grouped.setdefault(image.host.name, []).append(image)
        return sorted(grouped.items())

    def any_host_references(self) -> list[str]:
        """The image names (tags) of any of the user's hosts, for "Any host": placement keeps
        to the hosts that have the one chosen."""
        return sorted({tag for _, images in self.images_by_host() for image in images
                       for tag in image.tags})

    def api_fields(self, data: dict) -> dict:
        fields = {"image": data.get("image"), "name": data.get("name"),
                  "cmd": data.get("command") or None, "tty": bool(data.get("tty"))}
        for name in ("team", "host", "env", "memory", "cpus", "pids_limit", "restart",
                     "network", "ports"):
            fields[name] = data.get(name) or None
        fields["binds"] = lines(data.get("volumes")) or None
        return fields

    def check(self, fields: dict):
        return actions.check_run(self.user, fields, request=self.request)


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def command_field(label, help_text):
    return forms.CharField(required=False, max_length=2000, label=label, help_text=help_text)


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
    reason = forms.CharField(required=False, max_length=1000,
                             help_text="why; the team may require one to commit over an "
                                       "existing tag")

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
                "pause": bool(data["pause"]), "reason": data["reason"]}
