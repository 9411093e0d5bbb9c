"""Volumes in the console: the list (size, team, stack, the containers that use it, those one
may not see only counted), making one (developers; a name in use on the host refused),
removing one (refused while in use), giving one to a team; the host's side with the fake
engine: the team's label, removal, and the sync that finds volumes and stacks made on the
host and gives them to the team that made them."""
import pytest

from console.agent import console_api, sync as agent_sync, tasks
from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.testing import make_container
from console.jobs.models import Job
from console.stacks.models import Stack
from console.volumes.models import Volume


def sync_host(engine):
    """A sync of host h1 by its agent, through the host API (the `agent` fixture)."""
    return agent_sync.sync_host(console_api.get_api(), engine)


@pytest.fixture
def data(world):
    web = world.containers["web"]
    theirs = make_container(world.hosts["h1"], world.teams["beta"], "theirs")
    return Volume.objects.create(host=world.hosts["h1"], name="data", team=world.teams["alpha"],
                                 size=5 << 20, used_by=[web.engine_id, theirs.engine_id],
                                 project="shop")


def test_the_list_shows_who_uses_a_volume(world, client_for, data):
    answer = client_for("viewer").get("/api/volumes/").json()
    assert answer["count"] == 1
    volume = answer["results"][0]
    assert (volume["name"], volume["team"], volume["stack"], volume["size"]) == (
        "data", "alpha", "shop", 5 << 20)
    assert volume["used_by"] == [{"id": world.containers["web"].engine_id, "name": "web"}]
    assert volume["used_by_others"] == 1
    html = client_for("viewer").get("/volumes/").content.decode()
    assert '<tr data-volume="data">' in html and "5.0\xa0MB" in html and "1 other" in html
    assert 'id="volume-form"' not in html
    assert 'id="volume-form"' in client_for("developer").get("/volumes/").content.decode()
    assert client_for("stranger").get("/api/volumes/").json()["count"] == 0


def test_a_developer_makes_a_volume(world, client_for):
    response = client_for("developer").post("/api/volumes/", {"name": "cache", "host": "h1"},
                                            content_type="application/json")
    assert response.status_code == 202, response.content
    job = Job.objects.get()
    assert (job.kind, job.params, job.team.name) == ("volume.create", {"name": "cache"}, "alpha")
    assert AuditEntry.objects.get(action="volume.create").result == "requested"


@pytest.mark.parametrize("body, field, words", [
    ({"name": "data"}, "name", "already in use on host h1"),
    ({"name": "x"}, "name", "2 to 255"), ({"name": "../etc"}, "name", "2 to 255"),
    ({"name": "ok", "host": "h2"}, "host", "No such host"),
    ({"name": "ok", "size": 1}, "size", "Unknown field"),
])
def test_bad_volumes_are_refused(world, client_for, data, body, field, words):
    response = client_for("developer").post("/api/volumes/", {"host": "h1", **body},
                                            content_type="application/json")
    assert response.status_code == 400 and words in str(response.json()[field])
    assert not Job.objects.exists()


def test_viewers_and_operators_make_no_volume(world, client_for):
    for persona in ("viewer", "operator"):
        response = client_for(persona).post("/api/volumes/", {"name": "cache", "host": "h1"},
                                            content_type="application/json")
        assert response.status_code == 403
    assert not Job.objects.exists()
    assert AuditEntry.objects.filter(action="volume.create", result="denied").count() == 2


def test_a_volume_in_use_is_not_removed(world, client_for, data):
    response = client_for("developer").delete(f"/api/volumes/{data.pk}/")
    assert response.status_code == 409
    assert "in use by 2 containers" in response.json()["detail"]
    Volume.objects.filter(pk=data.pk).update(used_by=[])
    assert client_for("operator").delete(f"/api/volumes/{data.pk}/").status_code == 403
    response = client_for("developer").delete(f"/api/volumes/{data.pk}/")
    assert response.status_code == 202
    assert Job.objects.get().params == {"volume": data.pk, "name": "data"}


def test_a_superuser_gives_a_volume_to_a_team(world, client_for):
    volume = Volume.objects.create(host=world.hosts["h1"], name="found")
    assert client_for("developer").get(f"/api/volumes/{volume.pk}/").status_code == 404
    response = client_for("superuser").post(f"/api/volumes/{volume.pk}/team/", {"team": "alpha"},
                                            content_type="application/json")
    assert response.status_code == 200 and response.json()["team"] == "alpha"
    assert client_for("developer").get(f"/api/volumes/{volume.pk}/").status_code == 200


# -- the host's side ------------------------------------------------------------------------------

def test_the_host_makes_and_removes_the_teams_volume(world, client_for, engine, agent):
    client_for("developer").post("/api/volumes/", {"name": "cache", "host": "h1"},
                                 content_type="application/json")
    job = Job.objects.get()
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    team = world.teams["alpha"]
    assert engine.volume_rows["cache"]["Labels"] == {"moorage.team": f"team-{team.pk}"}
    row = Volume.objects.get(name="cache")
    assert (row.team, row.created_by.username) == (team, "developer")
    # A second one of that name (made on the host meanwhile) is refused.
    Volume.objects.all().delete()
    client_for("developer").post("/api/volumes/", {"name": "cache", "host": "h1"},
                                 content_type="application/json")
    again = Job.objects.exclude(pk=job.pk).get()
    tasks.execute_job(again.pk)
    again.refresh_from_db()
    assert (again.state, again.error) == ("failed",
                                          "a volume named cache already exists on host h1")
    row = Volume.objects.create(host=world.hosts["h1"], name="cache", team=team)
    client_for("developer").delete(f"/api/volumes/{row.pk}/")
    removal = Job.objects.get(kind="volume.remove")
    tasks.execute_job(removal.pk)
    removal.refresh_from_db()
    assert removal.state == "succeeded", removal.error
    assert "cache" not in engine.volume_rows and not Volume.objects.exists()


def test_the_sync_finds_volumes_and_who_they_belong_to(world, engine, settings, agent):
    alpha, beta = world.teams["alpha"], world.teams["beta"]
    from console.hosts.models import HostGrant
    HostGrant.objects.create(team=beta, host=world.hosts["h1"])
    web = world.containers["web"]
    engine.volume_create("labelled", labels={"moorage.team": f"team-{beta.pk}"})
    engine.volume_create("shop_data", labels={"com.docker.compose.project": "shop"})
    engine.volume_create("a" * 64, labels={"com.docker.volume.anonymous": ""})
    engine.volume_rows["a" * 64]["Users"] = [web.engine_id]
    engine.volume_rows["a" * 64]["Size"] = 1234
    engine.volume_create("hosts")
    Stack.objects.create(name="shop", host=world.hosts["h1"], team=alpha)
    sync_host(engine)
    rows = {row.name: row for row in Volume.objects.all()}
    assert rows["labelled"].team == beta
    assert (rows["shop_data"].team, rows["shop_data"].project) == (alpha, "shop")
    anonymous = rows["a" * 64]
    assert (anonymous.team, anonymous.anonymous, anonymous.used_by, anonymous.size) == (
        alpha, True, [web.engine_id], 1234)
    assert rows["hosts"].team is None
    # Gone from the host: forgotten after SYNC_MISSES syncs.
    del engine.volume_rows["hosts"]
    for _ in range(settings.SYNC_MISSES):
        assert Volume.objects.filter(name="hosts").exists()
        sync_host(engine)
    assert not Volume.objects.filter(name="hosts").exists()


def test_the_sync_finds_stacks_made_on_the_host(world, engine, settings, agent):
    for name, labels in (("outside-web-1", {"com.docker.compose.project": "outside",
                                            "com.docker.compose.service": "web"}),
                         ("teamed-db-1", {"com.docker.compose.project": "teamed",
                                          "com.docker.compose.service": "db",
                                          "moorage.team": "alpha"})):
        engine.create({"name": name, "image": "busybox", "labels": labels})
    sync_host(engine)
    outside, teamed = Stack.objects.get(name="outside"), Stack.objects.get(name="teamed")
    assert (outside.made_outside, outside.team, [e["service"] for e in outside.containers]) == (
        True, None, ["web"])
    assert teamed.team == world.teams["alpha"]
    engine.containers_by_id.clear()
    for _ in range(settings.SYNC_MISSES):
        sync_host(engine)
    assert not Stack.objects.filter(name="outside").exists()
    console = Stack.objects.create(name="kept", host=world.hosts["h1"], team=world.teams["alpha"])
    console.versions.create(number=1, compose="services: {}", author_name="developer")
    for _ in range(settings.SYNC_MISSES + 1):
        sync_host(engine)
    assert Stack.objects.filter(name="kept").exists()


def test_the_sync_follows_the_health_of_a_stacks_containers(world, engine, agent):
    engine.create({"name": "shop-db-1", "image": "busybox",
                   "labels": {"com.docker.compose.project": "shop",
                              "com.docker.compose.service": "db", "moorage.team": "alpha"}})
    container = next(iter(engine.containers_by_id.values()))
    engine.start(container["Id"])
    container["Health"] = {"Status": "starting", "FailingStreak": 0}
    sync_host(engine)
    row = Container.objects.get(name="shop-db-1")
    assert row.inspect_data["State"]["Health"]["Status"] == "starting"
    container["Health"] = {"Status": "healthy", "FailingStreak": 0}
    sync_host(engine)
    row.refresh_from_db()
    assert row.inspect_data["State"]["Health"]["Status"] == "healthy"
