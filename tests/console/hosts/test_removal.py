"""Removing a host: superusers, confirmed by its name, once it is offline. What the console knew
of its containers, images and commits goes into the audit log first (each team reads its
own), its credentials are revoked, then its rows go."""
from datetime import timedelta

import pytest
from django.utils import timezone

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.testing import make_commit, make_container
from console.grants.models import ContainerGrant
from console.hosts import removal
from console.hosts.models import Host
from console.images.models import Commit, Image
from console.jobs.models import Job


@pytest.fixture
def silent_h1(world):
    Host.objects.filter(name="h1").update(state="offline",
                                          last_seen=timezone.now() - timedelta(hours=2))
    world.hosts["h1"].refresh_from_db()
    return world.hosts["h1"]


@pytest.fixture
def revoked(monkeypatch):
    """The hosts whose credentials were revoked, and whether their rows still existed then."""
    calls = []

    def revoke(host):
        calls.append((host.name, Container.objects.filter(host=host).exists()))
        return 1
    monkeypatch.setattr(removal, "revoke_host_credentials", revoke)
    return calls


def test_an_offline_host_is_archived_revoked_and_removed(world, client_for, silent_h1,
                                                         revoked):
    alpha, beta = world.teams["alpha"], world.teams["beta"]
    web = world.containers["web"]
    Container.objects.filter(pk=web.pk).update(env=["PASSWORD=hunter2", "MODE=prod"],
                                               options={"memory": 64 * 1024 ** 2})
    make_container(silent_h1, beta, "lent")          # a team not granted h1 any more
    make_container(silent_h1, None, "made-with-moor")
    image, commit = make_commit(world, world.images["h1"], 7, tags=["alpha/app:1"],
                                message="add the app")
    ContainerGrant.objects.create(user=world.user("stranger"), container=web, actions=["start"])
    Job.objects.create(kind="stop", host=silent_h1, team=alpha, container=web, state="failed")
    response = client_for("superuser").delete(f"/api/hosts/{silent_h1.pk}/?confirm=h1")
    assert response.status_code == 200, response.content
    assert response.json() == {"host": "h1", "containers": 3, "images": 2, "commits": 1,
                               "credentials": 1}
    assert revoked == [("h1", True)]        # in the transaction, before the rows went
    assert not Host.objects.filter(name="h1").exists()
    assert not Job.objects.exists() and not ContainerGrant.objects.exists()
    assert not Commit.objects.filter(host__name="h1").exists()
    assert not Container.objects.filter(name__in=["web", "lent", "made-with-moor"]).exists()
    assert not Image.objects.filter(image_id=image.image_id).exists()
    assert Container.objects.filter(name="other").exists()      # h2's are untouched

    archived = {entry.team_name: entry for entry in AuditEntry.objects.filter(
        action="host.archive")}
    assert set(archived) == {"alpha", "beta", ""}
    mine = archived["alpha"]
    assert mine.host_name == "h1" and mine.host is None and mine.actor_name == "root"
    [record] = mine.params["containers"]
    assert record["id"] == web.engine_id and record["name"] == "web"
    assert record["env"] == ["PASSWORD=[redacted]", "MODE=[redacted]"]
    assert "hunter2" not in str(mine.params)
    assert record["options"] == {"memory": 64 * 1024 ** 2} and record["state"] == "running"
    assert [i["tags"] for i in mine.params["images"]] == [["alpha/app:1"]]
    assert mine.params["commits"][0]["message"] == "add the app"
    assert [c["name"] for c in archived["beta"].params["containers"]] == ["lent"]
    assert [c["name"] for c in archived[""].params["containers"]] == ["made-with-moor"]
    assert [i["tags"] for i in archived[""].params["images"]] == [["busybox:latest"]]
    removed = AuditEntry.objects.get(action="host.remove")
    assert removed.params == {"containers": 3, "images": 2, "commits": 1,
                              "revoked": 1}
    # Each team's members read what their team lost, and only that.
    seen = client_for("team_admin").get("/api/audit/?action=host.archive").json()["results"]
    assert [entry["team"] for entry in seen] == ["alpha"]
    assert client_for("stranger").get("/api/audit/?action=host.archive").json()["results"][0][
        "team"] == "beta"


def test_an_online_host_is_not_removed(world, client_for, revoked):
    response = client_for("superuser").delete(f"/api/hosts/{world.hosts['h1'].pk}/?confirm=h1")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Host h1 is online: stop its agent first")
    assert Host.objects.filter(name="h1").exists() and Container.objects.filter(name="web")
    assert revoked == [] and not AuditEntry.objects.filter(action__startswith="host.").exists()


def test_removal_needs_the_hosts_name(world, client_for, silent_h1, revoked):
    for query in ("", "?confirm=h2", "?confirm=H1"):
        response = client_for("superuser").delete(f"/api/hosts/{silent_h1.pk}/{query}")
        assert response.status_code == 400
        assert response.json() == {"confirm": ["Give the host's name (h1) to confirm removing "
                                               "it."]}
    assert Host.objects.filter(name="h1").exists() and revoked == []


def test_the_host_page_removes_it_once_confirmed(world, client_for, silent_h1, revoked):
    client = client_for("superuser")
    assert client.post("/hosts/h1/remove/", {"confirm": "h"}).status_code == 302
    assert Host.objects.filter(name="h1").exists()
    response = client.post("/hosts/h1/remove/", {"confirm": "h1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Host.objects.filter(name="h1").exists()
    assert "Host h1 is removed: 1 container(s), 1 image(s) and 0 commit(s) archived" in \
        client.get("/").content.decode()



def test_removing_a_host_revokes_its_key_and_its_redis_user(world, client_for, silent_h1,
                                                           redis_users):
    """The real revocation: the host's key is forgotten (the host API refuses it) and its Redis
    user deleted, in the removal."""
    from django.test import Client

    from console.hosts import keys
    from console.hosts.models import HostKey

    key = keys.issue_key(silent_h1)
    response = client_for("superuser").delete(f"/api/hosts/{silent_h1.pk}/?confirm=h1")
    assert response.status_code == 200, response.content
    assert response.json()["credentials"] == 1
    assert not HostKey.objects.exists()
    assert ("revoke", "h1") in redis_users
    refused = Client().post("/api/agent/heartbeat/", {"worker": "h1@m:1", "facts": {}},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Host {key}")
    assert refused.status_code in (401, 403)


def test_a_host_without_a_key_has_none_to_revoke(world, client_for, silent_h1):
    response = client_for("superuser").delete(f"/api/hosts/{silent_h1.pk}/?confirm=h1")
    assert response.status_code == 200, response.content
    assert response.json()["credentials"] == 0
