"""A request to make a volume (`POST /api/volumes/`, the Volumes page's form), checked: its
name is the engine's (Docker's local driver rule), free on its host; its team one in which
the user may create, granted the host."""
import re
from dataclasses import dataclass

from console.core.errors import FieldErrors, Forbidden, Invalid
from console.core.permissions import may_somewhere
from console.core.targets import choose_host, choose_team
from console.volumes.models import Volume

# runtime/volume/names.py: one path component, alphanumeric first, at least two characters.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$")
FIELDS = ("name", "host", "team")


@dataclass
class VolumeRequest:
    name: str
    host: object
    team: object

    def audit_params(self) -> dict:
        return {"name": self.name, "host": self.host.name,
                "team": self.team.name if self.team else None}


def validate_volume(user, data: dict) -> VolumeRequest:
    if not may_somewhere(user, "create"):
        raise Forbidden(fields={"team": ["You are in no team in which you may create "
                                         "volumes."]})
    problems = FieldErrors()
    for name in sorted(set(data) - set(FIELDS)):
        problems.add(name, f"Unknown field {name!r}.")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems.add("name", "A volume's name is 2 to 255 letters, digits, '_', '.' and '-', "
                             "starting with a letter or a digit.")
        name = ""
    for key in ("team", "host"):
        if data.get(key) not in (None, "") and not isinstance(data[key], (str, int)):
            problems.add(key, "Must be a name.")
    if problems:
        raise Invalid(fields=problems)
    team = choose_team(user, data.get("team"), problems, action="create",
                       what="create volumes")
    host = choose_host(user, team, data.get("host"), problems)
    if host is not None and name and Volume.objects.filter(host=host, name=name).exists():
        problems.add("name", f"The name {name!r} is already in use on host {host.name}.")
    if problems:
        raise Invalid(fields=problems)
    return VolumeRequest(name=name, host=host, team=team)
