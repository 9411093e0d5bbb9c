"""Who may see and act on team alpha's container `web`, through restrict() and the API."""
import pytest

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.jobs.models import Job

SEES_WEB = {"viewer", "operator", "developer", "team_admin", "superuser"}


def test_lists_never_show_what_the_user_may_not_see(world, persona):
    user = world.user(persona)
    names = set(Container.objects.restrict(user, "view").values_list("name", flat=True))
    expected = {"anonymous": set(), "stranger": {"other"}, "superuser": {"web", "other"}}
    assert names == expected.get(persona, {"web"})


# verb -> the personas allowed to do it on `web`
ALLOWED = {
    "stop": {"operator", "developer", "team_admin", "superuser"},
    "kill": {"operator", "developer", "team_admin", "superuser"},
    "restart": {"operator", "developer", "team_admin", "superuser"},
    "commit": {"developer", "team_admin", "superuser"},
}


@pytest.mark.parametrize("verb", sorted(ALLOWED))
def test_actions_answer_404_403_or_202_by_persona(world, client_for, persona, verb, sent,
                                                  django_capture_on_commit_callbacks):
    web = world.containers["web"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(persona).post(f"/api/containers/{web.engine_id}/{verb}/", {},
                                            content_type="application/json")
    if persona == "anonymous":
        assert response.status_code == 401
    elif persona not in SEES_WEB:
        assert response.status_code == 404
    elif persona not in ALLOWED[verb]:
        assert response.status_code == 403
    else:
        assert response.status_code == 202, response.content
        assert response.json()["kind"] == verb
    queued = Job.objects.filter(container=web, kind=verb)
    if persona in ALLOWED[verb]:
        assert queued.count() == 1
        assert sent == [("console.jobs.execute", [queued.get().pk], "host.h1")]
    else:
        assert not queued.exists()
        assert sent == []


def test_denied_attempts_are_audited(world, client_for):
    web = world.containers["web"]
    client_for("viewer").post(f"/api/containers/{web.engine_id}/stop/", {},
                              content_type="application/json")
    client_for("stranger").post(f"/api/containers/{web.engine_id}/stop/", {},
                                content_type="application/json")
    viewer = AuditEntry.objects.get(action="container.stop", result="denied",
                                    actor_name="viewer")
    assert (viewer.target_id, viewer.team_name) == (web.engine_id, "alpha")
    # The stranger cannot see it: their entry holds what they typed, nothing of alpha's.
    stranger = AuditEntry.objects.get(action="container.stop", result="denied",
                                      actor_name="stranger")
    assert (stranger.target_id, stranger.target_name, stranger.team_name) == \
        ("", web.engine_id, "")


def test_remove_needs_the_developer_role(world, client_for, sent):
    web = world.containers["web"]
    assert client_for("operator").delete(f"/api/containers/{web.engine_id}/").status_code == 403
    response = client_for("developer").delete(f"/api/containers/{web.engine_id}/?force=1")
    assert response.status_code == 202
    web.refresh_from_db()
    assert web.state == "removing"
    assert Job.objects.get(pk=response.json()["id"]).params == {"force": True}


@pytest.mark.parametrize("how", ["full", "prefix", "name"])
def test_a_stranger_gets_404_by_id_prefix_and_name(world, client_for, how):
    web = world.containers["web"]
    ref = {"full": web.engine_id, "prefix": web.engine_id[:8], "name": "web"}[how]
    client = client_for("stranger")
    assert client.get(f"/api/containers/{ref}/").status_code == 404
    assert client.get(f"/api/containers/{ref}/inspect/").status_code == 404
    assert client.post(f"/api/containers/{ref}/start/").status_code == 404
    assert client.get(f"/containers/{ref}/").status_code == 404


def test_a_container_is_found_by_a_unique_prefix(world, client_for):
    web = world.containers["web"]
    answer = client_for("viewer").get(f"/api/containers/{web.engine_id[:6]}/").json()
    assert answer["id"] == web.engine_id
    assert answer["name"] == "web" and answer["host"] == "h1" and answer["team"] == "alpha"
    assert answer["state"] == "running" and "exit_code" in answer


def test_a_grant_lets_one_user_do_exactly_the_granted_actions(world, client_for, sent):
    from console.grants.models import ContainerGrant

    web = world.containers["web"]
    ContainerGrant.objects.create(user=world.user("stranger"), container=web,
                                  actions=["stop", "start"])
    client = client_for("stranger")
    assert client.get(f"/api/containers/{web.engine_id}/").status_code == 200
    assert client.post(f"/api/containers/{web.engine_id}/stop/").status_code == 202
    assert client.post(f"/api/containers/{web.engine_id}/kill/").status_code == 403
    assert client.delete(f"/api/containers/{web.engine_id}/").status_code == 403
    listed = [c["name"] for c in client.get("/api/containers/").json()["results"]]
    assert sorted(listed) == ["other", "web"]


def test_an_action_that_does_not_fit_the_state_is_409(world, client_for):
    web = world.containers["web"]
    response = client_for("operator").post(f"/api/containers/{web.engine_id}/start/")
    assert response.status_code == 409
    assert "running" in response.json()["detail"]


def test_an_offline_host_refuses_actions(world, client_for):
    host = world.hosts["h1"]
    host.state = "offline"
    host.save()
    web = world.containers["web"]
    response = client_for("operator").post(f"/api/containers/{web.engine_id}/stop/")
    assert response.status_code == 409
    assert "Host h1 is offline" in response.json()["detail"]
    assert not Job.objects.exists()
