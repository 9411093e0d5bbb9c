"""The objects the permission matrix and the IDOR tests act on, on top of the shared world:
everything belongs to team alpha (host h1), so a member of beta (`stranger`) is a stranger to
all of it. Nothing here is a persona: `grantee` holds a grant on `web` and one on the stack
`shop` without being one.

There is stale work too, which the web process's housekeeping would end (`add_stale_work`):
the matrix's check that a GET changes nothing covers it."""
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from console import audit
from console.accounts.models import ApiToken
from console.core.testing import PASSWORD
from console.grants.models import AccessRequest, ContainerGrant, StackGrant
from console.hosts.models import HostKey, JoinToken, digest
from console.images.models import Commit, Image
from console.jobs.models import Job
from console.sso.models import GroupMapping


@dataclass
class Objects:
    web: object
    team: object
    host: object
    other_host: object
    image: object
    commit: object
    job: object
    entry: object
    grant: object
    token: object
    token_key: str
    session: object = None
    stack: object = None
    volume: object = None
    quota: object = None
    access_request: object = None
    schedule: object = None
    paused_schedule: object = None
    mapping: object = None
    join_token: object = None
    stack_grant: object = None


def add_objects(world) -> Objects:
    alpha, h1, web = world.teams["alpha"], world.hosts["h1"], world.containers["web"]
    base = world.images["h1"]
    image = Image.objects.create(host=h1, image_id="sha256:" + secrets.token_hex(32),
                                 tags=["alphatool:v1"], parent_id=base.image_id, team=alpha)
    job = Job.objects.create(kind="commit", host=h1, team=alpha, container=web,
                             target_id=web.engine_id, target_name="web",
                             requested_by=world.user("developer"), state="succeeded")
    commit = Commit.objects.create(
        image=image, new_image_id=image.image_id, parent_image_id=base.image_id, host=h1,
        team=alpha, author=world.user("developer"), author_name="developer",
        container_engine_id=web.engine_id, container_name="web", repository="alphatool",
        tag="v1", message="add the tool", job=job,
        file_changes=[{"kind": "A", "path": "/usr/bin/tool", "size": 1234}])
    entry = audit.record("container.stop", actor=world.user("operator"), team=alpha,
                         target=web, host=h1, result="requested", job=job)
    grantee = get_user_model().objects.create_user("grantee", "grantee@example.test", PASSWORD)
    grant = ContainerGrant.objects.create(user=grantee, container=web, actions=["start"],
                                          granted_by=world.user("team_admin"))
    token, key = ApiToken.objects.create_for(world.user("operator"), "matrix")
    # h1 has joined: its agent holds a key (a superuser may revoke it).
    HostKey.objects.get_or_create(host=h1, defaults={
        "prefix": "mhk_matrix", "digest": digest(secrets.token_hex(16))})
    # h1's worker reports another engine root than the one its rows were made from: a
    # superuser may accept it.
    type(h1).objects.filter(pk=h1.pk).update(engine_root="/var/lib/moorage-moved",
                                             synced_root="/var/lib/moorage")
    add_stale_work(world, web)
    stack, volume = add_stack_and_volume(world)
    # A join token not used yet, for a new host granted to alpha: a superuser may revoke it.
    join_token = JoinToken.objects.create(
        name="joining", prefix="mjt_matrix", digest=digest(secrets.token_hex(16)),
        created_by=world.user("superuser"), expires_at=timezone.now() + timedelta(hours=1))
    join_token.teams.set([alpha])
    mapping = GroupMapping.objects.create(source="ldap", group="alpha-ops", team=alpha,
                                          role="operator")
    return Objects(web=web, team=alpha, host=h1, other_host=world.hosts["h2"], image=image,
                   commit=commit, job=job, entry=entry, grant=grant, token=token, token_key=key,
                   session=add_terminal_session(world, web), quota=add_quota(world),
                   mapping=mapping, stack=stack, volume=volume, join_token=join_token,
                   stack_grant=StackGrant.objects.create(
                       user=grantee, stack=stack, actions=["restart"],
                       granted_by=world.user("team_admin")),
                   access_request=AccessRequest.objects.create(
                       user=grantee, container=web, actions=["terminal"], duration=3600,
                       reason="to see why it hangs"),
                   **add_schedules(world, web))


def add_schedules(world, web) -> dict:
    """Two of the developer's schedules on `web`: a nightly restart, and a paused commit."""
    from datetime import timedelta

    from django.utils import timezone

    from console.schedules.models import Schedule

    made = {}
    for name, action, paused in (("schedule", "restart", False),
                                 ("paused_schedule", "commit", True)):
        made[name] = Schedule.objects.create(
            team=world.teams["alpha"], container=web, action=action, cron="0 3 * * *",
            params={"repository": "alpha/web", "tag": "nightly-{date}"} if action == "commit"
            else {}, owner=world.user("developer"), owner_name="developer", paused=paused,
            next_run_at=None if paused else timezone.now() + timedelta(days=1))
    return made


def add_quota(world):
    """Alpha's quota on h1, and what its group there used at the last reading."""
    from django.utils import timezone

    from console.quotas.models import GroupReading, Quota

    alpha, h1 = world.teams["alpha"], world.hosts["h1"]
    GroupReading.objects.create(team=alpha, host=h1, read_at=timezone.now(), usage={
        "Memory": {"Current": 1 << 20}, "Pids": {"Current": 3},
        "Containers": {"Total": 1, "Running": 1}, "Disk": {"Total": 4096}})
    return Quota.objects.create(team=alpha, host=h1, memory=1 << 30, containers=20)


STACK_FILE = "services:\n  web:\n    image: busybox\n    command: sleep 600\n"


def add_stack_and_volume(world):
    """alpha's stack `shop` on h1 (version 1 deployed), and alpha's volume `alpha-data`."""
    from console.stacks.models import Stack, StackVersion
    from console.volumes.models import Volume

    stack = Stack.objects.create(name="shop", host=world.hosts["h1"], team=world.teams["alpha"],
                                 created_by=world.user("developer"))
    StackVersion.objects.create(stack=stack, number=1, compose=STACK_FILE, env="TOKEN=s3cret\n",
                                services=["web"], author=world.user("developer"),
                                author_name="developer", message="first")
    volume = Volume.objects.create(host=world.hosts["h1"], name="alpha-data",
                                   team=world.teams["alpha"], size=4096)
    return stack, volume



def add_stale_work(world, web):
    """A job queued two hours ago that no worker took, a job running on a host that stopped
    answering an hour ago, a terminal session on `web` whose socket dropped a day ago and
    that nobody resumed, and a grant on `web` that ended a minute ago: `console.housekeeping`
    ends all four; no request may."""
    from datetime import timedelta

    from django.utils import timezone

    from console.hosts.models import Host
    from console.streams.models import TerminalSession

    now = timezone.now()
    alpha, developer = world.teams["alpha"], world.user("developer")
    queued = Job.objects.create(kind="stop", host=web.host, team=alpha, container=web,
                                target_id=web.engine_id, target_name="web",
                                requested_by=developer)
    Job.objects.filter(pk=queued.pk).update(created_at=now - timedelta(hours=2))
    gone = Host.objects.create(name="gone", state="online", last_seen=now - timedelta(hours=1))
    Job.objects.create(kind="pull", host=gone, team=alpha, requested_by=developer,
                       state="running", started_at=now - timedelta(hours=1),
                       target_name="gone/app:1", params={"reference": "gone/app:1"})
    TerminalSession.objects.create(
        id=secrets.token_hex(16), user=world.user("operator"), username="operator",
        container=web, container_engine_id=web.engine_id, container_name=web.name,
        host=web.host, host_name=web.host.name, team=web.team, mode="exec",
        detached_at=now - timedelta(days=1), seen_at=now - timedelta(days=1))
    ContainerGrant.objects.create(user=world.user("viewer"), container=web,
                                  actions=["terminal"], granted_by=world.user("team_admin"),
                                  expires_at=now - timedelta(minutes=1))


def add_terminal_session(world, web):
    """An ended terminal session `operator` had on `web`, with its recording file (written
    under settings.RECORDINGS_DIR: the `recordings` fixture points it at a temporary one)."""
    from django.conf import settings
    from django.utils import timezone

    from console.streams.models import TerminalSession

    name = f"matrix-{secrets.token_hex(4)}.cast"
    assert "pytest" in str(settings.RECORDINGS_DIR), "use the recordings fixture"
    settings.RECORDINGS_DIR.mkdir(parents=True, exist_ok=True)
    (settings.RECORDINGS_DIR / name).write_text('{"version": 2, "width": 80, "height": 24}\n')
    return TerminalSession.objects.create(
        id=secrets.token_hex(16), user=world.user("operator"), username="operator",
        container=web, container_engine_id=web.engine_id, container_name=web.name,
        host=web.host, host_name=web.host.name, team=web.team, mode="exec",
        ended_at=timezone.now(), end_reason="exit", recording=name)


# Rows that change without any state changing: sessions (logging in), the audit log (denied
# attempts are recorded, by design) and the admin's own history.
UNTRACKED = {"sessions.session", "audit.auditentry", "admin.logentry",
             "contenttypes.contenttype", "auth.permission"}


def fingerprint() -> dict:
    """Every row of every other table, to tell whether a request changed anything."""
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in UNTRACKED:
            continue
        state[label] = sorted(map(repr, model._base_manager.order_by().values_list()))
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))
