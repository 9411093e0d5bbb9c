"""Pulling an image from the console: `POST /api/images/pull/` and the pull form. Developers and
up, on a host of their team; a name that is another team's (or the host's) is refused as
commit and tag refuse it; bad input is a clear field error; a refusal creates nothing (but its
audit entry); a request is one job on the host's queue and one audit entry."""
import pytest

from console.audit.models import AuditEntry
from console.images.models import Image
from console.jobs.models import Job

pytestmark = pytest.mark.django_db

REFERENCE = "127.0.0.1:5000/alpha/tool:1"


def pull(client, body, query=""):
    return client.post(f"/api/images/pull/{query}", body, content_type="application/json")


def nothing_made(sent):
    return not Job.objects.exists() and sent == []


@pytest.mark.parametrize("persona", ["developer", "team_admin", "superuser"])
def test_developers_and_up_pull_as_a_job_on_the_hosts_queue(world, client_for, sent, persona,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = pull(client_for(persona), {"reference": REFERENCE, "host": "h1",
                                            "team": "alpha"})
    assert answer.status_code == 202, answer.json()
    job = Job.objects.get()
    assert answer.json()["id"] == job.pk and answer.json()["kind"] == "pull"
    assert answer.json()["state"] == "queued" and answer.json()["output"] == ""
    assert (job.kind, job.host.name, job.team.name) == ("pull", "h1", "alpha")
    assert job.params == {"reference": REFERENCE, "tag": REFERENCE}
    assert job.requested_by == world.user(persona)
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.job_id) == ("image.pull", "requested", job.pk)
    assert entry.team.name == "alpha" and entry.target_name == REFERENCE


def test_the_one_team_and_the_default_tag_are_taken_for_granted(world, client_for):
    answer = pull(client_for("developer"), {"reference": "127.0.0.1:5000/alpha/tool",
                                            "host": "h1"})
    assert answer.status_code == 202
    job = Job.objects.get()
    assert job.team.name == "alpha"
    assert job.params["tag"] == "127.0.0.1:5000/alpha/tool:latest"


def test_a_pull_by_digest_leaves_no_tag(world, client_for):
    digest = "sha256:" + "ab" * 32
    answer = pull(client_for("developer"), {"reference": f"127.0.0.1:5000/alpha/tool@{digest}",
                                            "host": "h1"})
    assert answer.status_code == 202
    assert Job.objects.get().params["tag"] == ""


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_viewers_and_operators_are_refused_audited_and_nothing_is_made(world, client_for, sent,
                                                                       persona):
    answer = pull(client_for(persona), {"reference": REFERENCE, "host": "h1"})
    assert answer.status_code == 403
    assert "no team in which you may pull" in answer.json()["team"][0]
    assert nothing_made(sent)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.actor) == ("image.pull", "denied",
                                                         world.user(persona))


def test_anonymous_is_401(world, client):
    assert pull(client, {"reference": REFERENCE, "host": "h1"}).status_code == 401
    assert not Job.objects.exists()


def test_a_stranger_cannot_pull_for_another_team_or_onto_its_host(world, client_for, sent):
    client = client_for("stranger")
    answer = pull(client, {"reference": REFERENCE, "host": "h1", "team": "alpha"})
    assert answer.status_code == 400
    assert "No team 'alpha'" in answer.json()["team"][0]
    answer = pull(client, {"reference": REFERENCE, "host": "h1"})
    assert answer.status_code == 400
    assert answer.json()["host"] == ["No such host: h1."]      # not even its existence
    assert nothing_made(sent)


@pytest.mark.parametrize("body,field,words", [
    ({"host": "h1"}, "reference", "required"),
    ({"reference": "Upper/Case", "host": "h1"}, "reference", "must be lowercase"),
    ({"reference": "a:b:c", "host": "h1"}, "reference", "invalid reference format"),
    ({"reference": "x" * 600, "host": "h1"}, "reference", "At most 500"),
    ({"reference": REFERENCE}, "host", "required"),
    ({"reference": REFERENCE, "host": "nowhere"}, "host", "No such host"),
    ({"reference": REFERENCE, "host": "h1", "insecure": True}, "insecure", "Unknown field"),
])
def test_bad_input_is_a_field_error_and_makes_nothing(world, client_for, sent, body, field,
                                                       words):
    answer = pull(client_for("developer"), body)
    assert answer.status_code == 400
    assert words in " ".join(answer.json()[field])
    assert nothing_made(sent) and not AuditEntry.objects.exists()


def test_an_offline_host_is_refused(world, client_for, sent):
    world.hosts["h1"].__class__.objects.filter(name="h1").update(state="offline")
    answer = pull(client_for("developer"), {"reference": REFERENCE, "host": "h1"})
    assert answer.status_code == 400 and "offline" in answer.json()["host"][0]
    assert nothing_made(sent)


def test_a_name_of_the_host_or_of_another_team_is_refused_as_tag_refuses_it(world, client_for,
                                                                           sent):
    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "cd" * 32,
                         tags=["127.0.0.1:5000/beta/tool:1"], team=world.teams["beta"])
    client = client_for("developer")
    answer = pull(client, {"reference": "busybox", "host": "h1"})
    assert answer.status_code == 403
    assert answer.json()["reference"] == [
        "busybox:latest names an image of the host on h1: choose another name."]
    answer = pull(client, {"reference": "127.0.0.1:5000/beta/tool:1", "host": "h1"})
    assert answer.status_code == 403 and "another team" in answer.json()["reference"][0]
    assert nothing_made(sent)
    assert list(AuditEntry.objects.values_list("action", "result")) == [
        ("image.pull", "denied"), ("image.pull", "denied")]


def test_a_superuser_may_take_any_name(world, client_for):
    answer = pull(client_for("superuser"), {"reference": "busybox", "host": "h1"})
    assert answer.status_code == 202
    assert Job.objects.get().team is None     # a superuser in no team pulls a host image


def test_the_teams_own_name_may_be_pulled_again(world, client_for):
    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "ef" * 32,
                         tags=[REFERENCE], team=world.teams["alpha"])
    assert pull(client_for("developer"), {"reference": REFERENCE, "host": "h1"}).status_code == 202


def test_a_json_array_is_refused(world, client_for):
    answer = client_for("developer").post("/api/images/pull/", [1, 2],
                                          content_type="application/json")
    assert answer.status_code == 400 and not Job.objects.exists()


# -- the form -------------------------------------------------------------------------------

def test_the_images_page_offers_the_pull_dialog_to_those_who_may(world, client_for):
    page = client_for("developer").get("/images/").content.decode()
    assert 'id="pull-dialog"' in page and 'name="reference"' in page
    assert 'href="/images/build/"' in page
    page = client_for("operator").get("/images/").content.decode()
    assert 'id="pull-dialog"' not in page and "/images/build/" not in page


def test_the_form_pulls_and_shows_the_job(world, client_for, sent,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for("developer").post("/images/pull/", {"reference": REFERENCE,
                                                                "host": "h1", "team": "alpha"})
    job = Job.objects.get()
    assert answer.status_code == 302 and answer.url == f"/jobs/{job.pk}/"
    assert job.kind == "pull" and len(sent) == 1
    page = client_for("developer").get(answer.url).content.decode()
    assert 'id="job-output"' in page and REFERENCE in page


def test_the_form_shows_errors_beside_their_fields(world, client_for, sent):
    answer = client_for("developer").post("/images/pull/", {"reference": "a:b:c", "host": "h1",
                                                            "team": "alpha"})
    assert answer.status_code == 400
    assert "invalid reference format" in answer.content.decode()
    assert nothing_made(sent)


def test_the_form_refuses_a_name_that_is_not_the_teams(world, client_for, sent):
    answer = client_for("developer").post("/images/pull/", {"reference": "busybox",
                                                            "host": "h1", "team": "alpha"})
    assert answer.status_code == 403
    assert "names an image of the host" in answer.content.decode()
    assert nothing_made(sent)
    assert AuditEntry.objects.get().result == "denied"


def test_the_form_refuses_operators_with_an_audit_entry(world, client_for, sent):
    answer = client_for("operator").post("/images/pull/", {"reference": REFERENCE, "host": "h1"})
    assert answer.status_code == 403
    assert nothing_made(sent)
    assert AuditEntry.objects.get().result == "denied"
    assert client_for("operator").get("/images/pull/").status_code == 403


def test_pulls_reach_only_the_registries_the_console_names(world, client_for, sent, settings,
                                                           django_capture_on_commit_callbacks):
    """MOORAGE_PULL_REGISTRIES: a pull makes a root worker connect where the reference says."""
    settings.PULL_REGISTRIES = ["127.0.0.1:5000"]
    for reference in ("busybox", "internal.example:6379/x", "127.0.0.2:5000/alpha/tool:1"):
        answer = pull(client_for("developer"), {"reference": reference, "host": "h1",
                                                "team": "alpha"})
        assert answer.status_code == 403, answer.json()
        assert "are not allowed here" in answer.json()["reference"][0]
        assert "127.0.0.1:5000" in answer.json()["reference"][0]
    assert nothing_made(sent)
    assert list(AuditEntry.objects.values_list("result", flat=True)) == ["denied"] * 3
    page = client_for("developer").post("/images/pull/", {
        "reference": "ghcr.io/x/y:1", "host": "h1", "team": "alpha"})
    assert page.status_code == 403 and "are not allowed here" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert pull(client_for("developer"), {"reference": REFERENCE, "host": "h1",
                                              "team": "alpha"}).status_code == 202
        assert pull(client_for("superuser"), {"reference": "ghcr.io/x/y:1", "host": "h1",
                                              "team": "alpha"}).status_code == 202
    assert len(sent) == 2
