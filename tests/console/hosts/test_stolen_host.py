"""A stolen host's key (host h2's) against the console: each attempt at another host's jobs,
containers or state, at users, teams or the audit log, or at the user API is refused and
audited with the host as actor; a revoked key and a used or expired join token open nothing.
Real host API, real database; the one thing faked is Redis's ACL (`redis_users`)."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.hosts import keys
from console.hosts.models import Host, HostKey, JoinToken
from console.jobs.models import Job

pytestmark = pytest.mark.django_db


def as_host(key):
    return {"HTTP_AUTHORIZATION": f"Host {key}"}


@pytest.fixture
def thief(world):
    """Host h2's key, in the hands of whoever broke out on h2."""
    return keys.issue_key(world.hosts["h2"])


def post(path, key, body=None):
    return Client().post(path, body if body is not None else {}, content_type="application/json",
                         **as_host(key))


def refusals(host="h2"):
    return AuditEntry.objects.filter(actor_name=f"host:{host}", result="denied")


def test_another_hosts_job_cannot_be_read_claimed_fed_or_finished(world, thief):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"],
                             container=world.containers["web"])
    worker = "h2@thief:1"
    for path, body in ((f"/api/agent/jobs/{job.pk}/claim/", {"worker": worker}),
                       (f"/api/agent/jobs/{job.pk}/output/", {"worker": worker, "text": "x"}),
                       (f"/api/agent/jobs/{job.pk}/finish/", {"worker": worker,
                                                              "state": "succeeded"})):
        response = post(path, thief, body)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["detail"]
    response = Client().get(f"/api/agent/jobs/{job.pk}/context/?worker={worker}",
                            **as_host(thief))
    assert response.status_code == 404
    job.refresh_from_db()
    assert (job.state, job.worker, job.output) == ("queued", "", "")
    assert refusals().filter(action__in=["hostapi.claim", "hostapi.output", "hostapi.finish",
                                         "hostapi.context"]).count() == 4


def test_the_hosts_own_job_is_claimed_once(world, thief):
    job = Job.objects.create(kind="stop", host=world.hosts["h2"],
                             container=world.containers["other"])
    first = post(f"/api/agent/jobs/{job.pk}/claim/", thief, {"worker": "h2@m:1"})
    assert first.status_code == 200, first.content
    assert first.json()["id"] == job.pk
    replayed = post(f"/api/agent/jobs/{job.pk}/claim/", thief, {"worker": "h2@m:2"})
    assert replayed.status_code == 409
    job.refresh_from_db()
    assert (job.state, job.worker) == ("running", "h2@m:1")


def test_a_worker_name_of_another_host_is_refused(world, thief):
    job = Job.objects.create(kind="stop", host=world.hosts["h2"],
                             container=world.containers["other"])
    response = post(f"/api/agent/jobs/{job.pk}/claim/", thief, {"worker": "h1@m:1"})
    assert response.status_code == 400
    assert Job.objects.get(pk=job.pk).state == "queued"


def test_reporting_another_hosts_container_leaves_it_alone(world, thief):
    theirs = world.containers["web"]
    summary = {"Id": theirs.engine_id, "Names": ["/web"], "State": "exited", "ExitCode": 1,
               "Image": "busybox", "Labels": {}}
    response = post("/api/agent/sync/", thief, {"root": "/var/lib/moorage",
                                                "containers": [summary], "images": []})
    assert response.status_code == 200, response.content
    assert theirs.engine_id not in response.json()["inspect"]
    inspected = post("/api/agent/sync/inspected/", thief, {"containers": [
        {"Id": theirs.engine_id, "Name": "/web", "State": {"Status": "exited", "ExitCode": 1},
         "Config": {"Labels": {}}}]})
    assert inspected.status_code == 200, inspected.content
    row = Container.objects.get(pk=theirs.pk)
    assert (row.host.name, row.state) == ("h1", "running")
    assert refusals().filter(action="hostapi.report").count() == 2


def test_the_heartbeat_speaks_only_for_its_own_host(world, thief):
    world.hosts["h1"].refresh_from_db()
    before = world.hosts["h1"].last_seen
    response = post("/api/agent/heartbeat/", thief, {"worker": "h2@m:1", "facts": {},
                                                     "host": "h1"})
    assert response.status_code == 400        # no field names a host: the key does
    assert Host.objects.get(name="h1").last_seen == before
    response = post("/api/agent/heartbeat/", thief, {"worker": "h2@m:1", "facts": {
        "cpus": 4, "memory_available": 3 << 30}})
    assert response.status_code == 200, response.content
    h2 = Host.objects.get(name="h2")
    assert (h2.cpus, h2.memory_available) == (4, 3 << 30)     # placement reads the latter
    assert Host.objects.get(name="h1").last_seen == before
    assert refusals().filter(action="hostapi.heartbeat").count() == 1


@pytest.mark.parametrize("path", ["/api/agent/users/", "/api/agent/teams/",
                                  "/api/agent/audit/", "/api/agent/jobs/",
                                  "/api/agent/hosts/h1/"])
def test_nothing_else_is_readable_through_the_host_api(world, thief, path):
    response = Client().get(path, **as_host(thief))
    assert response.status_code == 404
    assert response.json()["detail"]
    assert refusals().filter(action="hostapi.route", params__path=path).exists()


@pytest.mark.parametrize("path", ["/api/containers/", "/api/jobs/", "/api/audit/",
                                  "/api/teams/", "/api/hosts/"])
@pytest.mark.parametrize("scheme", ["Host", "Token"])
def test_the_host_key_opens_nothing_of_the_user_api(world, thief, path, scheme):
    response = Client().get(path, HTTP_AUTHORIZATION=f"{scheme} {thief}")
    assert response.status_code == 401
    assert response.json()["detail"]
    assert refusals().filter(action="hostapi.user_api", params__path=path).exists()


def test_a_revoked_key_opens_nothing(world, thief, redis_users):
    assert post("/api/agent/heartbeat/", thief, {"worker": "h2@m:1", "facts": {}}
                ).status_code == 200
    root = world.users["superuser"]
    client = Client()
    client.force_login(root)
    response = client.post(f"/api/hosts/{world.hosts['h2'].pk}/revoke-key/")
    assert response.status_code == 200, response.content
    assert ("revoke", "h2") in redis_users
    response = post("/api/agent/heartbeat/", thief, {"worker": "h2@m:1", "facts": {}})
    assert response.status_code == 401
    assert not HostKey.objects.filter(host=world.hosts["h2"]).exists()
    assert AuditEntry.objects.filter(action="hostapi.heartbeat", result="denied",
                                     host__isnull=True).exists()


def test_only_a_superuser_revokes_a_key(world, thief, client_for):
    response = client_for("team_admin").post(f"/api/hosts/{world.hosts['h2'].pk}/revoke-key/")
    assert response.status_code in (403, 404)
    assert HostKey.objects.filter(host=world.hosts["h2"]).exists()


def join_token(world, name="node3", **fields):
    client = Client()
    client.force_login(world.users["superuser"])
    return client.post("/api/hosts/join-tokens/", {"name": name, "teams": ["alpha"], **fields},
                       content_type="application/json")


def test_a_join_token_is_used_once(world, redis_users):
    made = join_token(world)
    assert made.status_code == 201, made.content
    secret = made.json()["token"]
    joined = Client().post("/api/agent/join/", {"token": secret},
                           content_type="application/json")
    assert joined.status_code == 201, joined.content
    answer = joined.json()
    assert (answer["host"], answer["queue"]) == ("node3", "host.node3")
    assert ("grant", "node3", answer["key"]) in redis_users
    host = Host.objects.get(name="node3")
    assert host.grants.filter(team__name="alpha").exists()
    assert HostKey.objects.get(host=host).digest != answer["key"]   # kept hashed
    assert post("/api/agent/heartbeat/", answer["key"], {"worker": "node3@m:1", "facts": {}}
                ).status_code == 200
    again = Client().post("/api/agent/join/", {"token": secret}, content_type="application/json")
    assert again.status_code == 403
    refused = AuditEntry.objects.get(action="hostapi.join", result="denied")
    made_entry = AuditEntry.objects.get(action="host.join_token", result="succeeded")
    assert refused.params["prefix"] == made_entry.params["prefix"] == secret[:12]


def test_an_expired_join_token_is_refused(world):
    made = join_token(world, name="node4")
    JoinToken.objects.filter(name="node4").update(
        expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post("/api/agent/join/", {"token": made.json()["token"]},
                             content_type="application/json")
    assert response.status_code == 403
    assert not Host.objects.filter(name="node4").exists()


def test_only_a_superuser_makes_join_tokens(world, client_for):
    response = client_for("team_admin").post("/api/hosts/join-tokens/",
                                             {"name": "node5", "teams": ["alpha"]},
                                             content_type="application/json")
    assert response.status_code == 403
    assert not JoinToken.objects.filter(name="node5").exists()


# -- stacks, volumes and team groups --------------------------------------------------------

def test_another_teams_group_reading_is_refused(world, thief):
    """h2 may report the groups of teams granted h2 (beta), not alpha's, which only h1 has."""
    from console.quotas.models import GroupReading

    alpha, beta = world.teams["alpha"], world.teams["beta"]
    reading = {"Memory": 0, "NanoCpus": 0, "PidsLimit": 0,
               "Usage": {"Memory": {"Current": 1 << 30}}}
    response = post("/api/agent/groups/readings/", thief,
                    {"readings": {alpha.group: reading, "team-999999": reading,
                                  beta.group: reading}})
    assert response.status_code == 200, response.content
    assert response.json() == {"readings": 1, "refused": sorted([alpha.group, "team-999999"])}
    assert list(GroupReading.objects.values_list("team__name", "host__name")) == [("beta", "h2")]
    assert refusals().filter(action="hostapi.groups").count() == 1


def test_the_sync_tells_a_host_only_its_own_teams_groups(world, thief):
    response = post("/api/agent/sync/", thief, {"root": "/var/lib/moorage", "containers": [],
                                                "images": [], "volumes": []})
    assert response.status_code == 200, response.content
    assert [group["name"] for group in response.json()["groups"]] == [world.teams["beta"].group]


def test_reporting_another_hosts_volume_or_stack_leaves_them_alone(world, thief):
    """h2 lists a volume named as h1's and a Compose project named as h1's stack, with h1's
    container in it: h1's rows stay as they are; h2's own rows are h2's, of no team of h1."""
    from console.stacks.models import Stack
    from console.volumes.models import Volume

    h1, alpha = world.hosts["h1"], world.teams["alpha"]
    web = world.containers["web"]
    volume = Volume.objects.create(host=h1, name="data", team=alpha, size=4096)
    stack = Stack.objects.create(name="shop", host=h1, team=alpha,
                                 containers=[{"id": web.engine_id, "service": "web"}])
    project = {"com.docker.compose.project": "shop", "com.docker.compose.service": "web",
               "moorage.team": "alpha"}
    summary = {"Id": web.engine_id, "Names": ["/shop-web-1"], "State": "exited",
               "ExitCode": 1, "Image": "busybox", "Labels": project}
    response = post("/api/agent/sync/", thief, {
        "root": "/var/lib/moorage", "containers": [summary], "images": [],
        "volumes": [{"Name": "data", "Labels": {"moorage.team": alpha.network},
                     "UsedBy": [web.engine_id], "Size": 1}]})
    assert response.status_code == 200, response.content
    volume.refresh_from_db()
    stack.refresh_from_db()
    assert (volume.host, volume.team, volume.size) == (h1, alpha, 4096)
    assert stack.container_ids == [web.engine_id] and stack.host == h1
    theirs = Volume.objects.get(host__name="h2", name="data")
    assert theirs.team is None                   # alpha is not granted h2
    assert not Stack.objects.filter(host__name="h2", name="shop").exists()
    assert Container.objects.get(pk=web.pk).state == "running"
    assert refusals().filter(action="hostapi.report").count() == 1


def test_a_stack_job_of_another_host_cannot_be_claimed(world, thief):
    from console.stacks.models import Stack

    stack = Stack.objects.create(name="shop", host=world.hosts["h1"], team=world.teams["alpha"])
    job = Job.objects.create(kind="stack.deploy", host=world.hosts["h1"],
                             team=world.teams["alpha"], params={"stack": stack.pk, "version": 1})
    response = post(f"/api/agent/jobs/{job.pk}/claim/", thief, {"worker": "h2@thief:1"})
    assert response.status_code == 404
    assert Job.objects.get(pk=job.pk).state == "queued"
    assert refusals().filter(action="hostapi.claim").count() == 1


def test_a_stack_report_naming_another_hosts_container_is_refused(world, thief):
    """h2's own stack job reports h1's container as one of its project's: refused (400,
    audited), nothing of h1's changes, the job stays running."""
    from console.stacks.models import Stack

    beta, web = world.teams["beta"], world.containers["web"]
    stack = Stack.objects.create(name="shop", host=world.hosts["h2"], team=beta)
    job = Job.objects.create(kind="stack.stop", host=world.hosts["h2"], team=beta,
                             params={"stack": stack.pk})
    claimed = post(f"/api/agent/jobs/{job.pk}/claim/", thief, {"worker": "h2@m:1"})
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["stack"]["name"] == "shop"
    summary = {"Id": web.engine_id, "Names": ["/shop-web-1"], "State": "exited",
               "Labels": {"com.docker.compose.project": "shop"}}
    response = post(f"/api/agent/jobs/{job.pk}/finish/", thief, {
        "worker": "h2@m:1", "state": "succeeded", "report": {
            "root": "/var/lib/moorage", "stack": {"containers": [summary], "inspect": {}}}})
    assert response.status_code == 400, response.content
    assert Job.objects.get(pk=job.pk).state == "running"
    stack.refresh_from_db()
    assert stack.containers == []
    assert Container.objects.get(pk=web.pk).host.name == "h1"
    assert refusals().filter(action="hostapi.finish").count() == 1
