"""The run form. Its checks are `options.validate_run`'s, the API's own; errors are shown
beside the field they concern."""
from django import forms

from console.containers import publishing
from console.containers.options import InvalidRequest, validate_run
from console.hosts.models import Host
from console.images.models import Image
from console.teams.models import Team

RESTART_CHOICES = [("no", "no"), ("on-failure", "on-failure"), ("always", "always"),
                   ("unless-stopped", "unless-stopped")]
# Form field name -> API field name.
API_NAMES = {"command": "cmd"}


def offer_teams(field, user, action: str, *, no_team: str) -> None:
    """The teams `user` may `action` in as `field`'s choices: hidden when there is one (or
    none) to choose from; superusers may also choose `no_team`."""
    teams = list(Team.objects.restrict(user, action))
    field.choices = [(t.name, t.name) for t in teams]
    if len(teams) <= 1 and not user.is_superuser:
        field.widget = forms.HiddenInput()
        if teams:
            field.initial = teams[0].name
    elif user.is_superuser:
        field.choices = [("", no_team)] + field.choices


def host_choices(hosts) -> list[tuple[str, str]]:
    return [(h.name, h.name if h.is_online else f"{h.name} (offline)") for h in hosts]


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


class RunForm(forms.Form):
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
    tty = forms.BooleanField(required=False, label="Allocate a terminal (-t)")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.run_request = None
        self.refused = None       # the InvalidRequest, when the user may not run this at all
        self.request_data = {}
        offer_teams(self.fields["team"], user, "run", no_team="(no team)")
        self.hosts = list(Host.objects.restrict(user, "run"))
        self.fields["host"].choices = host_choices(self.hosts)
        self.fields["network"].help_text = network_help(user)
        self.fields["ports"].help_text = ports_help(user)

    def images_by_host(self) -> list[tuple[str, list[Image]]]:
        images = (Image.objects.restrict(self.user, "run")
                  .filter(host__in=self.hosts).select_related("host", "team"))
        grouped = {}
        for image in images:
            grouped.setdefault(image.host.name, []).append(image)
        return sorted(grouped.items())

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        request = {
            "team": data.get("team") or None, "host": data.get("host"),
            "image": data.get("image"), "name": data.get("name"),
            "cmd": data.get("command") or None, "env": data.get("env") or None,
            "memory": data.get("memory") or None, "cpus": data.get("cpus") or None,
            "pids_limit": data.get("pids_limit") or None,
            "restart": data.get("restart") or None, "tty": bool(data.get("tty")),
            "network": data.get("network") or None, "ports": data.get("ports") or None,
        }
        self.request_data = request
        try:
            self.run_request = validate_run(self.user, request)
        except InvalidRequest as error:
            if error.forbidden:
                self.refused = error
            for name, problems in error.errors.items():
                field = {v: k for k, v in API_NAMES.items()}.get(name, name)
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return data
