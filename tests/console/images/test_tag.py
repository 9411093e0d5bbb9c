"""Tagging an image (a job on its host, `Engine.tag`): who may, which names they may take, and
what the host worker records. A commit's ENV values stay out of the audit log and the job API."""
import pytest

from console.agent import tasks
from console.audit.models import AuditEntry
from console.core.errors import Forbidden, Invalid
from console.images import actions
from console.images.models import Commit, Image
from console.jobs.models import Job


@pytest.fixture
def tool(world):
    """An image team alpha made on h1 by committing `web`, and its commit record."""
    base = world.images["h1"]
    image = Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "a" * 64,
                                 tags=["alpha/tool:v1"], parent_id=base.image_id,
                                 team=world.teams["alpha"])
    commit = Commit.objects.create(
        image=image, new_image_id=image.image_id, parent_image_id=base.image_id,
        host=world.hosts["h1"], team=world.teams["alpha"], author=world.user("developer"),
        author_name="developer", container_engine_id=world.containers["web"].engine_id,
        container_name="web", repository="alpha/tool", tag="v1", message="add the tool")
    return image, commit


def test_a_developer_tags_the_teams_image(world, tool, sent, django_capture_on_commit_callbacks):
    image, _ = tool
    with django_capture_on_commit_callbacks(execute=True):
        job = actions.tag_image(world.user("developer"), image, "alpha/tool", "stable")
    assert job.kind == "tag" and job.params == {"image": image.image_id,
                                                 "reference": "alpha/tool:stable"}
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get(action="image.tag")
    assert (entry.result, entry.job, entry.team_name, entry.target_id) == (
        "requested", job, "alpha", image.image_id)


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_roles_below_developer_may_not_tag(world, tool, persona, sent):
    image, commit = tool
    with pytest.raises(Forbidden):
        actions.tag_image(world.user(persona), image, "alpha/tool", "stable")
    with pytest.raises(Forbidden):
        actions.tag_commit(world.user(persona), commit, "alpha/tool", "stable")
    assert not Job.objects.exists() and sent == []
    assert AuditEntry.objects.filter(action="image.tag", result="denied").count() == 2


def test_a_team_cannot_take_a_name_of_the_host_or_of_another_team(world, tool):
    image, commit = tool
    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "b" * 64,
                         tags=["beta/thing:latest"], team=world.teams["beta"])
    for name in ("busybox", "beta/thing"):
        with pytest.raises(Forbidden) as refused:
            actions.tag_commit(world.user("developer"), commit, name, "latest")
        assert "choose another name" in str(refused.value)
    # Its own names move freely; a superuser may move any.
    assert actions.tag_commit(world.user("developer"), commit, "alpha/tool", "v1").kind == "tag"
    assert actions.tag_image(world.user("superuser"), image, "busybox", "latest").kind == "tag"


def test_a_commit_cannot_take_another_teams_name_either(world, client_for):
    web = world.containers["web"]
    answer = client_for("developer").post(f"/api/containers/{web.engine_id}/commit/",
                                          {"repository": "busybox"},
                                          content_type="application/json")
    assert answer.status_code == 403 and "names an image of the host" in str(answer.json())
    assert not Job.objects.exists()


@pytest.mark.parametrize("repository,tag,field", [
    ("", "v1", "repository"), ("Upper/Case", "", "repository"), ("ok", "bad tag", "tag"),
    ("ok", "-leading", "tag")])
def test_bad_names_are_refused_beside_their_field(world, tool, repository, tag, field):
    with pytest.raises(Invalid) as refused:
        actions.tag_image(world.user("developer"), tool[0], repository, tag)
    assert list(refused.value.fields) == [field]


def test_the_worker_tags_and_records_the_new_name(world, tool, engine, agent):
    image, _ = tool
    engine.image_rows.clear()
    base_id = engine.add_image(["busybox:latest"])
    tool_id = engine.add_image(["alpha/tool:v1"], parent=base_id)
    Image.objects.filter(pk=image.pk).update(image_id=tool_id)
    image.refresh_from_db()
    job = actions.tag_image(world.user("developer"), image, "alpha/tool", "stable")
    assert tasks.execute_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result == {"image_id": tool_id, "reference": "alpha/tool:stable"}
    image.refresh_from_db()
    assert image.tags == ["alpha/tool:v1", "alpha/tool:stable"]
    assert image.team == world.teams["alpha"]


def test_an_engine_refusal_fails_the_tag_job_with_its_message(world, tool, engine, agent):
    job = actions.tag_image(world.user("developer"), tool[0], "alpha/tool", "stable")
    engine.fail("tag", "No such image: sha256:aaaa")
    assert tasks.execute_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == "No such image: sha256:aaaa"


def test_commit_env_values_stay_out_of_the_audit_log_and_the_job_api(world, client_for):
    web = world.containers["web"]
    answer = client_for("developer").post(
        f"/api/containers/{web.engine_id}/commit/",
        {"repository": "alpha/app", "changes": ["ENV DB_PASSWORD=hunter2 MODE=prod",
                                                "CMD [\"serve\"]"]},
        content_type="application/json")
    assert answer.status_code == 202
    assert "hunter2" not in answer.content.decode()
    entry = AuditEntry.objects.get(action="container.commit")
    assert entry.params["changes"] == ["ENV DB_PASSWORD=[redacted] MODE=[redacted]",
                                       'CMD ["serve"]']
    job = client_for("viewer").get(f"/api/jobs/{answer.json()['id']}/").json()
    assert "hunter2" not in str(job) and "DB_PASSWORD" in str(job)
