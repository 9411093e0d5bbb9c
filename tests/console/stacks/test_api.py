"""`/api/stacks/`: creating deploys version 1 as a job; a change is a new version (what is not
sent is kept); a dry run asks the host for the plan and changes nothing; versions with their
diffs; rolling back; start, stop, restart, down and removal; who sees the .env's values; the
editor's check; giving a stack made outside to a team; the schema."""
import pytest

from console.audit.models import AuditEntry
from console.core.testing import make_container
from console.jobs.models import Job
from console.stacks.models import Stack, StackVersion
from console.volumes.models import Volume
from tests.console.stacks.helpers import ENV, FILE, make_stack, post


def test_a_developer_creates_a_stack(world, client_for, sent,
                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for("developer"), message="first")
    assert response.status_code == 202, response.content
    answer = response.json()
    stack = Stack.objects.get(pk=answer["stack"])
    job = Job.objects.get(pk=answer["id"])
    assert (stack.name, stack.host.name, stack.team.name) == ("shop", "h1", "alpha")
    assert (job.kind, job.state, job.params) == ("stack.deploy", "queued",
                                                 {"stack": stack.pk, "version": 1})
    version = stack.versions.get()
    assert (version.number, version.compose, version.env, version.message, version.services) \
        == (1, FILE, ENV, "first", ["db", "web"])
    assert version.author_name == "developer <developer@example.test>" and version.job == job
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get(action="stack.create")
    assert (entry.result, entry.job, entry.team_name) == ("requested", job, "alpha")
    assert entry.params["env"] == ["DB_PASSWORD=[redacted]"]
    assert "s3cret" not in str(entry.params)


def test_the_env_values_are_for_those_who_may_deploy(world, client_for):
    stack = make_stack(world)
    for persona, shown in (("viewer", "DB_PASSWORD=[redacted]\n"),
                           ("operator", "DB_PASSWORD=[redacted]\n"),
                           ("developer", ENV), ("superuser", ENV)):
        answer = client_for(persona).get(f"/api/stacks/{stack.pk}/").json()
        assert answer["env"] == shown, persona
        assert answer["compose"] == FILE and answer["version"] == 1
        versions = client_for(persona).get(f"/api/stacks/{stack.pk}/versions/").json()
        assert versions["results"][0]["env"] == shown
    assert client_for("stranger").get(f"/api/stacks/{stack.pk}/").status_code == 404


def test_the_stack_shows_its_services_containers_health_and_ports(world, client_for):
    stack = make_stack(world)
    db = make_container(world.hosts["h1"], world.teams["alpha"], "shop-db-1",
                        inspect_data={"State": {"Health": {"Status": "healthy"}}})
    web = make_container(world.hosts["h1"], world.teams["alpha"], "shop-web-1", state="exited",
                         inspect_data={"NetworkSettings": {"Ports": {
                             "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}}})
    stack.containers = [{"id": db.engine_id, "service": "db"},
                        {"id": web.engine_id, "service": "web"}]
    stack.save()
    answer = client_for("viewer").get(f"/api/stacks/{stack.pk}/").json()
    assert answer["state"] == "partial"
    services = {service["name"]: service for service in answer["services"]}
    assert services["db"]["health"] == "healthy" and services["db"]["state"] == "running"
    assert services["web"]["ports"] == ["0.0.0.0:8080->80/tcp"]
    assert services["web"]["containers"] == [{"id": web.engine_id, "name": "shop-web-1",
                                              "state": "exited", "health": ""}]
    listed = client_for("viewer").get("/api/stacks/").json()["results"]
    assert [s["name"] for s in listed] == ["shop"] and listed[0]["compose"] is None
    assert client_for("stranger").get("/api/stacks/").json()["count"] == 0


def test_a_change_is_the_next_version_keeping_what_is_not_sent(world, client_for):
    stack = make_stack(world)
    changed = FILE.replace("sleep 600", "sleep 700")
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/", {
        "compose": changed, "message": "longer"}, content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json()["version"] == 2
    version = stack.versions.get(number=2)
    assert (version.compose, version.env, version.message) == (changed, ENV, "longer")
    assert AuditEntry.objects.get(action="stack.deploy").params["version"] == 2
    # One job of a stack at a time.
    again = client_for("developer").patch(f"/api/stacks/{stack.pk}/", {"env": "DB_PASSWORD=2"},
                                          content_type="application/json")
    assert again.status_code == 409
    assert "A job of stack shop is under way" in again.json()["detail"]


@pytest.mark.parametrize("body, status, field", [
    ({"name": "other"}, 400, "name"), ({"host": "h2"}, 400, "host"),
    ({"compose": "services: {}\nfoo: 1\n"}, 400, "compose"),
])
def test_a_bad_change_changes_nothing(world, client_for, body, status, field):
    stack = make_stack(world)
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/", body,
                                             content_type="application/json")
    assert response.status_code == status and field in response.json(), response.content
    assert stack.versions.count() == 1 and not Job.objects.exists()


@pytest.mark.parametrize("persona, status", [("viewer", 403), ("operator", 403),
                                             ("stranger", 404)])
def test_only_developers_deploy(world, client_for, persona, status):
    stack = make_stack(world)
    response = client_for(persona).patch(f"/api/stacks/{stack.pk}/", {"env": "A=1"},
                                         content_type="application/json")
    assert response.status_code == status
    assert stack.versions.count() == 1 and not Job.objects.exists()
    assert AuditEntry.objects.get(action="stack.deploy").result == "denied"


def test_a_dry_run_plans_and_changes_nothing(world, client_for, settings):
    settings.STACK_PLAN_WAIT_SECONDS = 0.01
    stack = make_stack(world)
    changed = FILE.replace("sleep 600", "sleep 700")
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/?dry_run=1", {
        "compose": changed}, content_type="application/json")
    assert response.status_code == 202, response.content     # the host has not answered yet
    answer = response.json()
    assert answer["plan"] is None and answer["job"]["kind"] == "stack.plan"
    assert answer["diff"].startswith("--- version 1\n+++ version 2\n")
    assert "-    command: sleep 600\n+    command: sleep 700\n" in answer["diff"]
    job = Job.objects.get()
    assert job.params["compose"] == changed and job.params["env"] == ENV
    assert answer["job"]["params"]["env"] == "[redacted]"
    assert stack.versions.count() == 1


def test_a_dry_run_answers_with_the_hosts_plan(world, client_for, monkeypatch):
    """When the host plans in time, the answer is the plan (200)."""
    plan = {"services": [{"service": "db", "action": "keep", "reasons": []}]}

    def planned(job, timeout):
        Job.objects.filter(pk=job.pk).update(state="succeeded", result={"plan": plan})
        job.refresh_from_db()
        return job
    monkeypatch.setattr("console.stacks.api.wait", planned)
    stack = make_stack(world)
    response = client_for("developer").patch(f"/api/stacks/{stack.pk}/?dry_run=1", {
        "env": "DB_PASSWORD=other\n"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["plan"] == plan and response.json()["diff"] == ""
    assert stack.versions.count() == 1


def test_a_dry_run_for_a_new_stack_makes_no_stack(world, client_for, settings):
    settings.STACK_PLAN_WAIT_SECONDS = 0
    response = post(client_for("developer"), query="?dry_run=1")
    assert response.status_code == 202
    assert not Stack.objects.exists() and Job.objects.get().kind == "stack.plan"
    assert response.json()["diff"].startswith("--- /dev/null\n+++ version 1\n")


def test_versions_newest_first_with_their_diffs_and_a_rollback(world, client_for):
    stack = make_stack(world)
    StackVersion.objects.create(stack=stack, number=2, compose=FILE.replace("600", "700"),
                                env=ENV, author_name="team_admin", message="longer")
    answer = client_for("viewer").get(f"/api/stacks/{stack.pk}/versions/").json()
    assert [v["number"] for v in answer["results"]] == [2, 1]
    assert "-    command: sleep 600\n+    command: sleep 700" in answer["results"][0]["diff"]
    assert answer["results"][1]["diff"].startswith("--- /dev/null\n+++ version 1\n")
    response = client_for("developer").post(f"/api/stacks/{stack.pk}/versions/1/deploy/",
                                            {"message": "back"}, content_type="application/json")
    assert response.status_code == 202, response.content
    third = stack.versions.get(number=3)
    assert (third.compose, third.redeploy_of, third.message) == (FILE, 1, "back")
    busy = client_for("developer").post(f"/api/stacks/{stack.pk}/versions/2/deploy/",
                                        content_type="application/json")
    assert busy.status_code == 409      # the redeploy above is under way
    Job.objects.update(state="succeeded")
    missing = client_for("developer").post(f"/api/stacks/{stack.pk}/versions/9/deploy/",
                                           content_type="application/json")
    assert missing.status_code == 400 and "has no version 9" in str(missing.json())


@pytest.mark.parametrize("verb, persona, status", [
    ("start", "operator", 202), ("stop", "operator", 202), ("restart", "operator", 202),
    ("down", "operator", 403), ("down", "developer", 202), ("stop", "viewer", 403),
    ("stop", "stranger", 404),
])
def test_running_verbs_by_role(world, client_for, verb, persona, status):
    stack = make_stack(world)
    response = client_for(persona).post(f"/api/stacks/{stack.pk}/{verb}/")
    assert response.status_code == status, response.content
    if status == 202:
        assert Job.objects.get().kind == f"stack.{verb}"
    else:
        assert not Job.objects.exists()
        entry = AuditEntry.objects.get(action=f"stack.{verb}")
        assert entry.result == "denied"


def test_removal_with_volumes_names_them(world, client_for):
    stack = make_stack(world)
    Volume.objects.create(host=world.hosts["h1"], name="shop_data", project="shop",
                          team=world.teams["alpha"])
    response = client_for("developer").delete(f"/api/stacks/{stack.pk}/?volumes=1")
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.params == {"stack": stack.pk, "volumes": True, "volume_names": ["shop_data"]}
    stack.refresh_from_db()
    assert stack.state == "removing"
    assert client_for("viewer").get(f"/api/stacks/{stack.pk}/").json()["state"] == "removing"
    again = client_for("developer").post(f"/api/stacks/{stack.pk}/start/")
    assert again.status_code == 409
    # A removal that never ended (its worker died, the job was failed) leaves a mark that
    # the next request clears.
    Job.objects.update(state="failed")
    assert client_for("developer").post(f"/api/stacks/{stack.pk}/start/").status_code == 202
    stack.refresh_from_db()
    assert stack.state == "active"


def test_an_offline_host_is_a_conflict(world, client_for):
    stack = make_stack(world)
    world.hosts["h1"].state = "offline"
    world.hosts["h1"].save()
    assert client_for("operator").post(f"/api/stacks/{stack.pk}/stop/").status_code == 409
    assert not Job.objects.exists()


def test_the_editors_check(world, client_for):
    client = client_for("developer")
    good = client.post("/api/stacks/check/", {"name": "shop", "host": "h1", "compose": FILE,
                                              "env": ENV}, content_type="application/json")
    assert good.json() == {"valid": True, "problems": [], "services": ["db", "web"]}
    bad = client.post("/api/stacks/check/", {
        "name": "shop", "host": "h1", "env": "A=1\nbroken\n",
        "compose": "services:\n  web:\n    image: busybox\n    privileged: true\n"},
        content_type="application/json").json()
    assert bad["valid"] is False and bad["problems"] == [
        {"field": "env", "line": 2, "message": ".env, line 2: expected KEY=value, found "
                                               "'broken'"}]
    bad = client.post("/api/stacks/check/", {
        "name": "shop", "host": "h1",
        "compose": "services:\n  web:\n    image: busybox\n    privileged: true\n"},
        content_type="application/json").json()
    assert bad["problems"][0]["line"] == 4 and "only a superuser" in bad["problems"][0]["message"]
    stack = make_stack(world)
    mine = client.post("/api/stacks/check/", {"stack": stack.pk, "compose": FILE + "\n"},
                       content_type="application/json").json()
    assert mine["valid"] is True, mine
    assert client_for("viewer").post("/api/stacks/check/", {"compose": FILE},
                                     content_type="application/json").status_code == 403
    assert client_for("stranger").post("/api/stacks/check/", {"stack": stack.pk},
                                       content_type="application/json").status_code == 404
    assert not Job.objects.exists() and not AuditEntry.objects.filter(
        action__startswith="stack.").exists()


def test_a_superuser_gives_a_stack_made_outside_to_a_team(world, client_for):
    stack = Stack.objects.create(name="outside", host=world.hosts["h1"], made_outside=True)
    row = make_container(world.hosts["h1"], None, "outside-web-1")
    stack.containers = [{"id": row.engine_id, "service": "web"}]
    stack.save()
    Volume.objects.create(host=world.hosts["h1"], name="outside_data", project="outside")
    assert client_for("developer").get(f"/api/stacks/{stack.pk}/").status_code == 404
    answer = client_for("superuser").get(f"/api/stacks/{stack.pk}/").json()
    assert (answer["team"], answer["made_outside"], answer["version"]) == (None, True, None)
    # No file to change until it is a team's.
    patch = client_for("superuser").patch(f"/api/stacks/{stack.pk}/", {"compose": FILE},
                                          content_type="application/json")
    assert patch.status_code == 409 and "belongs to no team" in patch.json()["detail"]
    response = client_for("superuser").post(f"/api/stacks/{stack.pk}/team/", {"team": "alpha"},
                                            content_type="application/json")
    assert response.status_code == 200 and response.json()["team"] == "alpha"
    row.refresh_from_db()
    assert row.team.name == "alpha"
    assert Volume.objects.get(name="outside_data").team.name == "alpha"
    assert client_for("viewer").get(f"/api/stacks/{stack.pk}/").status_code == 200
    assert client_for("team_admin").post(f"/api/stacks/{stack.pk}/team/", {"team": "alpha"},
                                         content_type="application/json").status_code == 403
    assert client_for("superuser").post(f"/api/stacks/{stack.pk}/team/", {"team": "beta"},
                                        content_type="application/json").status_code == 400


def test_the_schema_documents_stacks_and_volumes(world, client_for):
    text = client_for("viewer").get("/api/schema/").content.decode()
    for path in ("/api/stacks/:", "/api/stacks/{id}/:", "/api/stacks/{id}/versions/:",
                 "/api/stacks/{id}/versions/{number}/deploy/:", "/api/stacks/{id}/start/:",
                 "/api/stacks/check/:", "/api/volumes/:", "/api/volumes/{id}/:"):
        assert path in text, path
    assert "dry_run" in text and "StackPlan" in text
