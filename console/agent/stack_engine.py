"""A stack's Compose project on its host, held to its team's rules: the project loaded from the
stack's file and `.env` (never the worker's environment), and the engine as the project may
use it (`StackEngine`).

The web process checked the file for the user who asked (`console.stacks.requests`); here the
host holds the project to the same rules where only the host can tell, with what the console
said of the job when the agent claimed it (`job`: the team, whether a superuser asked, the
images the team may run here, the volumes and containers the console gave it:
`console/hostapi/stack_jobs.py`):

- every container carries the team's label (`moorage.team`), so a sync gives it to the team;
  the stack's networks and volumes carry `moorage.team=team-<id>`, so they are the team's (its
  containers may join the networks, the volumes are the team's own);
- a network or volume that exists on the host is used only when it is the team's
  (`may_use`): another team's is reported as missing, or as a name that is taken;
- for anyone but a superuser: a container runs an image the team may run, publishes nowhere
  on the host's loopback, gets the PIDs limit the console caps, holds no bind mount,
  privilege or added capability; nothing is pulled or built;
- the project's containers on the host are the stack's (`check_project`): a project of that
  name made by someone else is not taken over.
"""
import os

from console.agent import config
from runtime import compose
from runtime.compose import containers as compose_labels
from runtime.compose.interpolation import parse_env_file
from runtime.errors import MoorError, NotFound

TEAM_LABEL = "moorage.team"
HOST_PATH = ("/", ".", "~")


class StackRefused(MoorError):
    """The host would not do this for the stack; the message is the job's error."""


def stack_directory(host_name: str, name: str) -> str:
    """The stack's directory on the host (relative paths of a superuser's file point there)."""
    path = os.path.join(config.var_dir(), "stacks", host_name, name)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def variables_of(env_text: str) -> dict:
    values = {}
    values.update(parse_env_file(env_text or "", ".env", values.get))
    return values


def load_project(engine, job, name: str, compose_text: str, env_text: str, team, *,
                 read_files: bool):
    """The stack's project, its networks and volumes labelled as `team`'s. `read_files`: a
    superuser's file may read the host's files (`env_file`); nobody else's reads any."""
    project = compose.load(content=compose_text, environ=variables_of(env_text),
                           project_name=name,
                           working_dir=stack_directory(config.current().host, name),
                           read_files=read_files,
                           cache_dir=os.path.join(engine.paths.root, "compose", "validated"))
    if team is not None:
        for entry in list(project.networks.values()) + list(project.volumes.values()):
            if not entry.get("external"):
                entry["labels"] = {**entry.get("labels", {}), TEAM_LABEL: team["network"]}
    return project


def by_superuser(job) -> bool:
    return bool(job.get("superuser"))


def host_name() -> str:
    return config.current().host


class StackEngine:
    """The engine as a team's stack may use it (see the module's docstring); everything else
    is the engine's own."""

    def __init__(self, engine, job, team):
        self.engine, self.job, self.team = engine, job, team
        self.superuser = by_superuser(job)

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def create(self, options: dict) -> str:
        options = dict(options)
        options["labels"] = {**(options.get("labels") or {}),
                             TEAM_LABEL: self.team["name"] if self.team is not None else ""}
        if not self.superuser:
            self.hold_to_the_rules(options)
        return self.engine.create(options)

    def hold_to_the_rules(self, options: dict) -> None:
        shown = options.get("image_name") or options.get("image")
        if options.get("image") not in set(self.job.get("images") or ()):
            raise NotFound(f"No such image: {shown}")
        held = [name for name in ("privileged", "cap_add") if options.get(name)]
        held += ["a bind mount" for bind in options.get("binds") or []
                 if str(bind).startswith(HOST_PATH)]
        if options.get("network") == "host":
            held.append("the host's network")
        if held:
            raise StackRefused(f"only a superuser may give a container {', '.join(held)}")
        if options.get("ports"):
            options["publish_loopback"] = False
        if self.job.get("max_pids") and not options.get("pids_limit"):
            options["pids_limit"] = self.job["max_pids"]

    def volume_create(self, name=None, labels=None, **options):
        if self.team is not None:
            labels = {**(labels or {}), TEAM_LABEL: self.team["network"]}
        return self.engine.volume_create(name=name, labels=labels, **options)

    def pull(self, reference, *args, **kwargs):
        if not self.superuser:
            raise NotFound(f"No such image: {reference} (on host {host_name()}): pull "
                           f"it first")
        return self.engine.pull(reference, *args, **kwargs)

    def build(self, *args, **kwargs):
        if not self.superuser:
            raise StackRefused("only a superuser may build from a directory of the host")
        return self.engine.build(*args, **kwargs)

    def may_use(self, kind: str, name: str) -> bool:
        """Whether the network or volume `name`, which exists on the host, is one the stack
        may use: the team's own (labelled so, or a volume the console gave the team)."""
        if self.superuser:
            return True
        if self.team is None:
            return False
        try:
            found = (self.engine.network_inspect(name) if kind == "network"
                     else self.engine.volume_inspect(name))
        except NotFound:
            return False
        if (found.get("Labels") or {}).get(TEAM_LABEL) in (self.team["network"],
                                                           self.team["name"]):
            return True
        return kind == "volume" and name in set(self.job.get("team_volumes") or ())


def check_project(engine, job, name: str, stack) -> None:
    """The containers of project `name` on the host must be the stack's: labelled as its
    team's, known as its own, or rows the console gave its team. None may exist for a stack
    not made yet."""
    found = compose_labels.project_containers(engine, name, oneoff=None)
    if not found:
        return
    if stack is None:
        raise StackRefused(f"the name {name} is taken on host {host_name()}: a Compose "
                           f"project of that name is there")
    ours = set(stack["container_ids"])
    team = job.get("team")
    the_teams = set(job.get("team_containers") or ())
    for summary in found:
        label = (summary.get("Labels") or {}).get(TEAM_LABEL)
        if summary["Id"] in ours or (team is not None and (
                label == team["name"] or summary["Id"] in the_teams)):
            continue
        shown = (summary.get("Names") or [summary["Id"][:12]])[0].lstrip("/")
        raise StackRefused(f"container {shown} of project {name} on host {host_name()} is "
                           f"not stack {name}'s: it was made outside the console")
