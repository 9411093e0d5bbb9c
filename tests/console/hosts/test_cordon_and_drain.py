"""Cordon and drain, for superusers: a cordoned host takes no new containers and keeps those it
has; a drain cordons and lists what runs there, and stops it all only when confirmed."""
import json

import pytest

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.testing import make_container
from console.hostapi import reconcile
from console.hosts.models import Host
from console.jobs.models import Job


def api(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def test_a_superuser_cordons_and_uncordons_audited_once_per_change(world, client_for):
    client, h1 = client_for("superuser"), world.hosts["h1"]
    answer = api(client, f"/api/hosts/{h1.pk}/cordon/")
    assert answer.status_code == 200 and answer.json()["cordoned"] is True
    assert Host.objects.get(pk=h1.pk).cordoned
    api(client, f"/api/hosts/{h1.pk}/cordon/")        # already: nothing changes
    assert AuditEntry.objects.filter(action="host.cordon", result="succeeded").count() == 1
    answer = api(client, f"/api/hosts/{h1.pk}/uncordon/")
    assert answer.json()["cordoned"] is False and not Host.objects.get(pk=h1.pk).cordoned
    assert AuditEntry.objects.filter(action="host.uncordon").count() == 1
    # The running container was never touched.
    assert Container.objects.get(name="web").state == "running"


@pytest.mark.parametrize("persona,status", [("team_admin", 403), ("developer", 403),
                                            ("stranger", 404)])
def test_only_superusers_cordon_drain_or_remove(world, client_for, persona, status, sent):
    client, h1 = client_for(persona), world.hosts["h1"]
    for verb in ("cordon", "uncordon", "drain"):
        assert api(client, f"/api/hosts/{h1.pk}/{verb}/").status_code == status
    assert client.delete(f"/api/hosts/{h1.pk}/?confirm=h1").status_code == status
    assert not Host.objects.get(pk=h1.pk).cordoned and sent == []
    if status == 403:       # refusals of what they can see are audited
        assert set(AuditEntry.objects.filter(result="denied").values_list(
            "action", flat=True)) == {"host.cordon", "host.uncordon", "host.drain",
                                      "host.remove"}


def test_a_drain_cordons_and_lists_every_teams_running_containers_stopping_nothing(
        world, client_for, sent, django_capture_on_commit_callbacks):
    h1 = world.hosts["h1"]
    theirs = make_container(h1, world.teams["beta"], "theirs", state="paused")
    make_container(h1, world.teams["alpha"], "stopped", state="exited")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(client_for("superuser"), f"/api/hosts/{h1.pk}/drain/").json()
    assert answer["host"]["cordoned"] is True
    web = world.containers["web"]
    assert [(c["name"], c["team"], c["state"]) for c in answer["running"]] == [
        ("web", "alpha", "running"), ("theirs", "beta", "paused")]
    assert answer["running"][0]["page"] == f"http://testserver/containers/{web.engine_id}/"
    assert answer["running"][1]["url"] == f"http://testserver/api/containers/{theirs.engine_id}/"
    assert answer["jobs"] == [] and sent == [] and not Job.objects.exists()
    entry = AuditEntry.objects.get(action="host.drain")
    assert entry.params == {"running": 2, "stop": False, "was_cordoned": False}


def test_stopping_everything_needs_the_hosts_name(world, client_for, sent):
    h1 = world.hosts["h1"]
    answer = api(client_for("superuser"), f"/api/hosts/{h1.pk}/drain/",
                 {"stop": True, "confirm": "h2"})
    assert answer.status_code == 400
    assert answer.json() == {"confirm": ["Give the host's name (h1) to confirm stopping "
                                         "everything on it."]}
    assert not Host.objects.get(pk=h1.pk).cordoned and not Job.objects.exists()


def test_a_confirmed_drain_stops_each_running_container(world, client_for, sent,
                                                       django_capture_on_commit_callbacks):
    h1 = world.hosts["h1"]
    theirs = make_container(h1, world.teams["beta"], "theirs")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(client_for("superuser"), f"/api/hosts/{h1.pk}/drain/",
                     {"stop": True, "confirm": "h1"}).json()
    jobs = Job.objects.filter(kind="stop").order_by("pk")
    assert [job.container.name for job in jobs] == ["web", "theirs"]
    assert [job["id"] for job in answer["jobs"]] == [job.pk for job in jobs]
    assert sent == [("console.jobs.execute", [job.pk], "host.h1") for job in jobs]
    stops = AuditEntry.objects.filter(action="container.stop", result="requested")
    assert {entry.target_id for entry in stops} == {world.containers["web"].engine_id,
                                                    theirs.engine_id}


def test_the_host_page_offers_superusers_cordon_drain_and_remove(world, client_for):
    Host.objects.filter(name="h2").update(last_seen=None, state="offline")
    page = client_for("superuser").get("/hosts/h1/").content.decode()
    assert 'id="cordon"' in page and 'id="drain"' in page and 'id="remove-online"' in page
    assert 'id="remove-form"' in client_for("superuser").get("/hosts/h2/").content.decode()
    member = client_for("team_admin").get("/hosts/h1/").content.decode()
    assert 'id="host-actions"' not in member and "Remove this host" not in member
    assert "Free for placement" in member
    assert client_for("stranger").get("/hosts/h1/").status_code == 404


def test_the_drain_page_lists_with_links_and_stops_all_once_confirmed(
        world, client_for, sent, django_capture_on_commit_callbacks):
    client = client_for("superuser")
    web = world.containers["web"]
    page = client.get("/hosts/h1/drain/").content.decode()
    assert 'id="begin-drain"' in page and 'id="stop-all-form"' not in page
    assert f'href="/containers/{web.engine_id}/"' in page
    response = client.post("/hosts/h1/drain/", {})
    assert response.status_code == 302 and Host.objects.get(name="h1").cordoned
    page = client.get("/hosts/h1/drain/").content.decode()
    assert 'id="stop-all-form"' in page and "Nothing was stopped" in page
    assert client.post("/hosts/h1/drain/", {"stop": "1", "confirm": "nope"}).status_code == 302
    assert not Job.objects.exists()
    assert "Give the host&#x27;s name (h1)" in client.get("/hosts/h1/drain/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/hosts/h1/drain/", {"stop": "1", "confirm": "h1"})
    assert list(Job.objects.values_list("kind", "container__name")) == [("stop", "web")]
    assert client_for("team_admin").get("/hosts/h1/drain/").status_code == 403


def test_members_are_told_on_the_host_page_they_may_not_cordon(world, client_for):
    client = client_for("team_admin")
    response = client.post("/hosts/h1/cordon/")
    assert response.status_code == 302 and response["Location"] == "/hosts/h1/"
    assert "Only a superuser may cordon a host." in client.get("/hosts/h1/").content.decode()
    assert not Host.objects.get(name="h1").cordoned


def test_a_heartbeat_under_way_keeps_what_changed_meanwhile(world, client_for):
    """The host API loads the host when it checks the agent's key and writes the heartbeat a
    moment later; a cordon made in between (or the engine root a sync recorded) stands."""
    h1 = world.hosts["h1"]
    as_the_heartbeat_found_it = Host.objects.get(pk=h1.pk)
    assert api(client_for("superuser"), f"/api/hosts/{h1.pk}/cordon/").status_code == 200
    Host.objects.filter(pk=h1.pk).update(synced_root="/srv/synced")
    reconcile.mark_seen(as_the_heartbeat_found_it, worker="h1@box:7",
                        facts={"memory_available": 3 << 30, "engine_root": "/srv/synced"})
    h1.refresh_from_db()
    assert h1.cordoned and h1.synced_root == "/srv/synced"
    assert (h1.state, h1.worker, h1.memory_available) == ("online", "h1@box:7", 3 << 30)
