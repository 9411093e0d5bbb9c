"""The shared test world: one set of personas and objects every console test builds on.

Team "alpha" is granted host "h1"; its members are `viewer`, `operator`, `developer` and
`team_admin` (one of each role); `stranger` is a developer of team "beta" (granted host "h2");
`superuser` is a superuser in no team. Host h1 has the base image `busybox:latest` and alpha's
container `web` (running); h2 has beta's container `other` (running).
"""
import hashlib
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone

PERSONAS = ("anonymous", "stranger", "viewer", "operator", "developer", "team_admin",
            "superuser")
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    users: dict = field(default_factory=dict)
    teams: dict = field(default_factory=dict)
    hosts: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    containers: dict = field(default_factory=dict)

    def user(self, persona):
        return self.users.get(persona)


def make_container(host, team, name, *, image=None, state="running", **extra):
    from console.containers.models import Container

    return Container.objects.create(
        engine_id=secrets.token_hex(32), name=name, host=host, team=team, image=image,
        image_ref=image.reference if image else "busybox:latest", command=["sleep", "300"],
        state=state, **extra)


def make_commit(world, parent, number, *, team="alpha", host="h1", tags=(), author="developer",
                message=None, files=None, repository="", tag=""):
    """A commit of `parent` into a new image (number `number`) on `host`, for `team`, and the
    image it made: (image, commit)."""
    from console.images.models import Commit, Image

    image = Image.objects.create(host=world.hosts[host],
                                 image_id="sha256:" + hashlib.sha256(b"%d" % number).hexdigest(),
                                 tags=list(tags), parent_id=parent.image_id,
                                 team=world.teams[team])
    commit = Commit.objects.create(
        image=image, new_image_id=image.image_id, parent_image_id=parent.image_id,
        host=world.hosts[host], team=world.teams[team], author=world.user(author),
        author_name=f"{author} <{author}@example.test>",
        container_engine_id=world.containers["web"].engine_id, container_name="web",
        repository=repository, tag=tag, message=message or f"commit {number}",
        file_changes=files if files is not None else [{"kind": "A", "path": f"/f{number}",
                                                       "size": number}])
    return image, commit


def build_world() -> World:
    from console.core.roles import Role
    from console.hosts.models import Host, HostGrant
    from console.images.models import Image
    from console.teams.models import Membership, Team

    User = get_user_model()
    world = World()
    now = timezone.now()
    for name in ("h1", "h2"):
        world.hosts[name] = Host.objects.create(name=name, state="online", last_seen=now, cpus=2,
                                                memory=2 ** 31)
    for name in ("alpha", "beta"):
        world.teams[name] = Team.objects.create(name=name)
    HostGrant.objects.create(team=world.teams["alpha"], host=world.hosts["h1"])
    HostGrant.objects.create(team=world.teams["beta"], host=world.hosts["h2"])
    roles = {"viewer": Role.VIEWER, "operator": Role.OPERATOR, "developer": Role.DEVELOPER,
             "team_admin": Role.ADMIN}
    for persona, role in roles.items():
        user = User.objects.create_user(persona, f"{persona}@example.test", PASSWORD)
        Membership.objects.create(user=user, team=world.teams["alpha"], role=role)
        world.users[persona] = user
    stranger = User.objects.create_user("stranger", "stranger@example.test", PASSWORD)
    Membership.objects.create(user=stranger, team=world.teams["beta"], role=Role.DEVELOPER)
    world.users["stranger"] = stranger
    world.users["superuser"] = User.objects.create_superuser("root", "root@example.test",
                                                             PASSWORD)
    world.users["anonymous"] = None
    for host in ("h1", "h2"):
        world.images[host] = Image.objects.create(
            host=world.hosts[host], image_id="sha256:" + secrets.token_hex(32),
            tags=["busybox:latest"], size=1_200_000, created=now)
    world.containers["web"] = make_container(world.hosts["h1"], world.teams["alpha"], "web",
                                             image=world.images["h1"])
    world.containers["other"] = make_container(world.hosts["h2"], world.teams["beta"], "other",
                                               image=world.images["h2"])
    return world
