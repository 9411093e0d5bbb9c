"""Stacks held to their team's rules: a deploy (a new stack, a new version, a version again)
past the team's quota on the host is refused as a run is, through the API and the pages; a
team that requires a reason for deploying or removing stacks gets one, kept in the audit entry
and the history."""
import pytest
from django.utils import timezone

from console.audit.models import AuditEntry
from console.core.testing import make_container
from console.jobs.models import Job
from console.quotas.models import Quota
from console.stacks.models import Stack, StackVersion
from tests.console.stacks.helpers import ENV, FILE, make_stack, post

NEW = {"name": "shop", "host": "h1", "team": "alpha", "compose": FILE, "env": ENV,
       "message": "first", "step": "deploy"}
ONE_SERVICE = "services:\n  db:\n    image: busybox\n    command: sleep 600\n"


def limit(world, **limits):
    return Quota.objects.create(team=world.teams["alpha"], host=world.hosts["h1"], **limits)


def fill(world, count: int):
    """Give alpha `count` more running containers on h1 (besides `web`, running)."""
    for number in range(count):
        make_container(world.hosts["h1"], world.teams["alpha"], f"filler{number}",
                       image=world.images["h1"], state="running")


def require(world, *actions):
    team = world.teams["alpha"]
    team.reasons_required_for = list(actions)
    team.save()


# -- the quota -----------------------------------------------------------------------------------

def test_a_new_stack_past_the_teams_running_containers_is_refused(world, client_for, sent):
    limit(world, containers=3)
    fill(world, 1)              # web and filler0: two in use, the file's two services make 4
    response = post(client_for("developer"))
    assert response.status_code == 403
    assert response.json() == {"detail": "team alpha's quota on h1: 3 containers (2 in use)."}
    assert not Stack.objects.exists() and not Job.objects.exists() and sent == []
    entry = AuditEntry.objects.get(action="stack.create")
    assert (entry.result, entry.error, entry.target_name, entry.host_name) == (
        "denied", "team alpha's quota on h1: 3 containers (2 in use).", "shop", "h1")


def test_a_new_stack_within_the_quota_is_deployed(world, client_for, sent,
                                                   django_capture_on_commit_callbacks):
    limit(world, containers=3)          # web, and the file's two services
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for("developer"))
    assert response.status_code == 202, response.content
    assert len(sent) == 1


def test_a_new_version_counts_the_stacks_running_containers_as_replaced(world, client_for):
    limit(world, containers=3)
    stack = make_stack(world)
    for service in ("db", "web"):
        make_container(world.hosts["h1"], world.teams["alpha"], f"shop-{service}-1",
                       image=world.images["h1"], state="running")
    stack.containers = [{"id": c.engine_id, "service": c.name.split("-")[1]}
                        for c in stack.host.containers.filter(name__startswith="shop-")]
    stack.save()
    client = client_for("developer")
    # Three in use (web, shop-db-1, shop-web-1): the same two services again fit...
    response = client.patch(f"/api/stacks/{stack.pk}/", {"message": "again"},
                            content_type="application/json")
    assert response.status_code == 202, response.content
    Job.objects.update(state="succeeded")
    # ...a third service does not.
    bigger = FILE.replace("volumes:\n  data", "  cache:\n    image: busybox\n    command: sleep 1"
                          "\nvolumes:\n  data")
    response = client.patch(f"/api/stacks/{stack.pk}/", {"compose": bigger},
                            content_type="application/json")
    assert response.status_code == 403, response.content
    assert response.json() == {"detail": "team alpha's quota on h1: 3 containers (3 in use)."}
    assert stack.versions.count() == 2
    assert AuditEntry.objects.filter(action="stack.deploy", result="denied").count() == 1


def test_a_version_again_is_held_to_the_quota(world, client_for, sent):
    limit(world, containers=2)
    fill(world, 1)
    stack = make_stack(world)
    response = client_for("developer").post(f"/api/stacks/{stack.pk}/versions/1/deploy/",
                                            {"message": "back"},
                                            content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("team alpha's quota on h1: 2 containers")
    assert stack.versions.count() == 1 and sent == []


def test_a_full_disk_refuses_a_deploy(world, client_for):
    from console.quotas.models import GroupReading

    limit(world, disk=1 << 20)
    GroupReading.objects.create(team=world.teams["alpha"], host=world.hosts["h1"],
                                usage={"Disk": {"Total": 1 << 20}},
                                read_at=timezone.now())
    stack = make_stack(world)
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/", {"message": "x"},
                                             content_type="application/json")
    assert response.status_code == 403
    assert "1 MiB of disk" in response.json()["detail"]


def test_the_editor_says_the_quota_beside_the_form(world, client_for, sent):
    limit(world, containers=1)
    response = client_for("developer").post("/stacks/new/", NEW)
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="form-errors"' in html and "team alpha&#x27;s quota on h1: 1 containers" in html
    assert 'id="id_compose"' in html and not Stack.objects.exists() and sent == []
    stack = make_stack(world, name="other")
    response = client_for("developer").post(f"/stacks/{stack.pk}/edit/", {
        "compose": FILE + "\n", "env": ENV, "step": "deploy"})
    assert response.status_code == 403 and "quota on h1" in response.content.decode()
    assert stack.versions.count() == 1


def test_the_history_says_the_quota_of_a_version_again(world, client_for):
    limit(world, containers=1)
    stack = make_stack(world)
    client = client_for("developer")
    response = client.post(f"/stacks/{stack.pk}/versions/1/deploy/", {})
    assert response.status_code == 302
    assert response.url == f"/stacks/{stack.pk}/history/"
    assert "quota on h1: 1 containers" in client.get(response.url).content.decode()
    assert stack.versions.count() == 1


# -- reasons ------------------------------------------------------------------------------------

def test_a_deploy_needs_the_reason_the_team_requires(world, client_for, sent,
                                                     django_capture_on_commit_callbacks):
    require(world, "stack-deploy")
    client = client_for("developer")
    response = post(client)
    assert response.status_code == 400
    assert response.json() == {"reason": ["Team alpha requires a reason for deploying a stack."]}
    assert not Stack.objects.exists() and not AuditEntry.objects.filter(
        action="stack.create").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, reason="launch day")
    assert response.status_code == 202, response.content
    stack = Stack.objects.get()
    assert AuditEntry.objects.get(action="stack.create").params["reason"] == "launch day"
    assert stack.versions.get().reason == "launch day"
    Job.objects.update(state="succeeded")
    response = client.patch(f"/api/stacks/{stack.pk}/", {"message": "m"},
                            content_type="application/json")
    assert response.status_code == 400 and "reason" in response.json()
    response = client.patch(f"/api/stacks/{stack.pk}/", {"message": "m", "reason": "fix"},
                            content_type="application/json")
    assert response.status_code == 202
    Job.objects.update(state="succeeded")
    path = f"/api/stacks/{stack.pk}/versions/1/deploy/"
    assert client.post(path, {}, content_type="application/json").status_code == 400
    response = client.post(path, {"reason": "it broke"}, content_type="application/json")
    assert response.status_code == 202
    entries = AuditEntry.objects.filter(action="stack.deploy").order_by("pk")
    assert [entry.params.get("reason") for entry in entries] == ["fix", "it broke"]
    versions = client.get(f"/api/stacks/{stack.pk}/versions/").json()["results"]
    assert [v["reason"] for v in versions] == ["it broke", "fix", "launch day"]


def test_a_removal_needs_the_reason_the_team_requires(world, client_for, sent):
    require(world, "stack-remove")
    stack = make_stack(world)
    client = client_for("developer")
    response = client.delete(f"/api/stacks/{stack.pk}/")
    assert response.status_code == 400
    assert response.json() == {"reason": ["Team alpha requires a reason for removing a stack."]}
    assert Stack.objects.get().state == "active" and not Job.objects.exists()
    response = client.delete(f"/api/stacks/{stack.pk}/?reason=retired")
    assert response.status_code == 202
    assert AuditEntry.objects.get(action="stack.remove").params["reason"] == "retired"


def test_a_reason_given_where_none_is_required_is_kept(world, client_for):
    stack = make_stack(world)
    response = client_for("developer").delete(f"/api/stacks/{stack.pk}/?reason=tidy")
    assert response.status_code == 202
    assert AuditEntry.objects.get(action="stack.remove").params["reason"] == "tidy"


@pytest.mark.parametrize("reason", [["a list"], "x" * 1001, "bell\x07"])
def test_a_bad_reason_is_refused_beside_its_field(world, client_for, reason):
    stack = make_stack(world)
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/",
                                             {"message": "m", "reason": reason},
                                             content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["reason"]
    assert stack.versions.count() == 1


def test_the_pages_ask_for_the_reason_and_the_history_shows_it(world, client_for):
    require(world, "stack-deploy", "stack-remove")
    stack = make_stack(world)
    client = client_for("developer")
    assert 'id="remove-reason"' in client.get(f"/stacks/{stack.pk}/").content.decode()
    response = client.post(f"/stacks/{stack.pk}/edit/", {"compose": FILE, "env": ENV,
                                                         "step": "review"})
    assert response.status_code == 400
    assert "Team alpha requires a reason for deploying a stack." in response.content.decode()
    response = client.post(f"/stacks/{stack.pk}/edit/", {
        "compose": FILE, "env": ENV, "step": "deploy", "reason": "hotfix"})
    assert response.status_code == 302, response.content
    html = client.get(f"/stacks/{stack.pk}/history/").content.decode()
    assert "Reason: “hotfix”" in html and 'placeholder="reason (required)"' in html
    Job.objects.update(state="succeeded")
    response = client.post(f"/stacks/{stack.pk}/remove/", {})
    assert response.status_code == 302
    assert "requires a reason for removing" in client.get(response.url).content.decode()
    response = client.post(f"/stacks/{stack.pk}/remove/", {"reason": "gone"})
    assert response.status_code == 302 and response.url == "/stacks/"
    assert AuditEntry.objects.get(action="stack.remove").params["reason"] == "gone"
    assert StackVersion.objects.filter(reason="hotfix").exists()
