"""Reasons on sensitive actions: a team chooses which actions need a reason (removing,
killing, committing over an existing tag, a terminal as root, deploying and removing stacks);
such an action without one is refused beside the field `reason`, and the reason given is kept
in the audit entry and shown in the history."""
import secrets

import pytest

from console.audit.models import AuditEntry
from console.core.errors import Invalid
from console.images.models import Image
from console.jobs.models import Job
from console.streams.consumers.terminal import terminal_options
from console.teams.reasons import require_reason


@pytest.fixture
def alpha(world):
    team = world.teams["alpha"]
    team.reasons_required_for = ["remove", "kill", "commit-overwrite", "terminal-root"]
    team.save()
    return team


def test_team_admins_choose_the_actions_that_need_a_reason(world, client_for):
    alpha = world.teams["alpha"]
    response = client_for("team_admin").patch(
        f"/api/teams/{alpha.pk}/", {"reasons_required_for": ["terminal-root", "remove"]},
        content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["reasons_required_for"] == ["remove", "terminal-root"]
    entry = AuditEntry.objects.get(action="team.settings")
    assert entry.params["changed"] == {"reasons_required_for": ["remove", "terminal-root"]}
    bad = client_for("team_admin").patch(f"/api/teams/{alpha.pk}/",
                                         {"reasons_required_for": ["dance"]},
                                         content_type="application/json")
    assert bad.status_code == 400 and "reasons_required_for" in bad.json()
    assert client_for("developer").patch(f"/api/teams/{alpha.pk}/",
                                         {"reasons_required_for": []},
                                         content_type="application/json").status_code == 403


def test_the_team_page_sets_them(world, client_for):
    alpha = world.teams["alpha"]
    response = client_for("team_admin").post(f"/teams/{alpha.pk}/settings/", {
        "description": "", "terminal_user": "", "reasons_required_for": ["kill", "remove"]})
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.reasons_required_for == ["remove", "kill"]
    html = client_for("viewer").get(f"/teams/{alpha.pk}/").content.decode()
    assert "removing a container, killing a container" in html


def test_a_removal_without_a_reason_is_refused_and_with_one_kept(
        alpha, world, client_for, sent, django_capture_on_commit_callbacks):
    web = world.containers["web"]
    client = client_for("developer")
    response = client.delete(f"/api/containers/{web.engine_id}/?force=1")
    assert response.status_code == 400
    assert response.json() == {"reason": ["Team alpha requires a reason for removing a "
                                          "container."]}
    assert not Job.objects.exists() and sent == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/containers/{web.engine_id}/?force=1&reason=disk+full")
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.params == {"force": True}                      # the host is not told why
    entry = AuditEntry.objects.get(action="container.remove")
    assert entry.params == {"force": True, "reason": "disk full"}
    html = client_for("viewer").get("/audit/").content.decode()
    assert "“disk full”" in html
    detail = client_for("viewer").get(f"/audit/{entry.pk}/").content.decode()
    assert '<td id="reason">disk full</td>' in detail


def test_a_kill_needs_one_and_a_stop_keeps_one_given(alpha, world, client_for, sent):
    web = world.containers["web"]
    client = client_for("operator")
    assert client.post(f"/api/containers/{web.engine_id}/kill/", {},
                       content_type="application/json").status_code == 400
    assert client.post(f"/api/containers/{web.engine_id}/kill/", {"reason": "  "},
                       content_type="application/json").status_code == 400
    assert client.post(f"/api/containers/{web.engine_id}/kill/", {"reason": "hung"},
                       content_type="application/json").status_code == 202
    assert client.post(f"/api/containers/{web.engine_id}/stop/", {"reason": "maintenance"},
                       content_type="application/json").status_code == 202
    assert [(e.action, e.params.get("reason")) for e in AuditEntry.objects.order_by("pk")] == [
        ("container.kill", "hung"), ("container.stop", "maintenance")]


def test_the_container_page_asks_for_the_reason_where_it_is_required(alpha, world, client_for):
    web = world.containers["web"]
    html = client_for("developer").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'aria-label="reason to kill"' in html and 'aria-label="reason to remove"' in html
    response = client_for("developer").post(f"/containers/{web.engine_id}/remove/",
                                            {"force": "1"})
    assert response.status_code == 302 and not Job.objects.exists()
    client_for("developer").post(f"/containers/{web.engine_id}/remove/",
                                 {"force": "1", "reason": "replaced by web-2"})
    assert AuditEntry.objects.get(action="container.remove").params["reason"] == \
        "replaced by web-2"


def test_committing_over_an_existing_tag_needs_a_reason(alpha, world, client_for, sent):
    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + secrets.token_hex(32),
                         tags=["alpha/app:1"], team=alpha)
    web = world.containers["web"]
    client = client_for("developer")
    url = f"/api/containers/{web.engine_id}/commit/"
    refused = client.post(url, {"repository": "alpha/app", "tag": "1"},
                          content_type="application/json")
    assert refused.status_code == 400 and refused.json() == {"reason": [
        "Team alpha requires a reason for committing over an existing tag."]}
    assert client.post(url, {"repository": "alpha/app", "tag": "2"},
                       content_type="application/json").status_code == 202
    assert client.post(url, {"repository": "alpha/app", "tag": "1", "reason": "hotfix"},
                       content_type="application/json").status_code == 202
    assert AuditEntry.objects.filter(action="container.commit").first().params["reason"] == \
        "hotfix"


def test_a_reason_is_text_of_bounded_length():
    with pytest.raises(Invalid):
        require_reason(None, "kill", "x" * 1001)
    with pytest.raises(Invalid):
        require_reason(None, "kill", "bell\x07")
    assert require_reason(None, "kill", " two\nlines ") == "two\nlines"
    with pytest.raises(ValueError):
        require_reason(None, "dance", "")


def query(**values):
    return {name: [value] for name, value in values.items()}


def test_a_terminal_as_root_needs_a_reason(alpha, world):
    web = world.containers["web"]
    web.inspect_data = {"Config": {"User": ""}}
    with pytest.raises(Invalid, match="requires a reason for a terminal as root"):
        terminal_options(query(), web)
    with pytest.raises(Invalid):
        terminal_options(query(user="0:0"), web)
    with pytest.raises(Invalid):
        terminal_options(query(mode="attach"), web)
    assert terminal_options(query(reason="fix perms"), web)["reason"] == "fix perms"
    assert terminal_options(query(user="app"), web)["reason"] == ""
    assert terminal_options(query(session="a" * 32), web)["session"]      # resumed: asked
    web.inspect_data = {"Config": {"User": "nobody"}}
    assert terminal_options(query(), web)["user"] == ""
    alpha.terminal_user = "root"
    with pytest.raises(Invalid):
        terminal_options(query(user="app"), web)          # the pinned user is root


def test_a_team_that_asks_nothing_lets_all_through(world):
    web = world.containers["web"]
    assert terminal_options(query(), web)["reason"] == ""
