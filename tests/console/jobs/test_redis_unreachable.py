"""When the broker cannot be reached, an action that queues a job answers 503 saying Redis is
unreachable (JSON for the API, the message on the page for forms), its job is failed, and what
it changed for the job is taken back in the same transaction: no pending container row, no
container left `removing`. The broker is refused at the boundary (send_task); the real Redis
going away is tests/e2e/test_redis_down.py."""
import pytest
from kombu.exceptions import OperationalError

from console.containers.models import Container
from console.jobs import dispatch
from console.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(monkeypatch, sent):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    monkeypatch.setattr(dispatch.app, "send_task", refuse)


def post_json(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def says_redis_is_unreachable(answer):
    assert answer.status_code == 503, (answer.status_code, answer.content[:300])
    assert answer["Content-Type"].startswith("application/json")
    assert "Redis is unreachable" in answer.json()["detail"]


def test_running_creates_no_container(world, client_for, broker_down):
    answer = post_json(client_for("developer"), "/api/containers/",
                       {"image": "busybox", "host": "h1", "name": "never"})
    says_redis_is_unreachable(answer)
    assert not Container.objects.filter(name="never").exists()
    job = Job.objects.get(kind="run")
    assert job.state == "failed" and "Redis is unreachable" in job.error


@pytest.mark.parametrize("verb", ["stop", "kill", "restart", "commit"])
def test_an_action_answers_503_and_changes_nothing(world, client_for, broker_down, verb):
    web = world.containers["web"]
    answer = post_json(client_for("developer"), f"/api/containers/{web.engine_id}/{verb}/")
    says_redis_is_unreachable(answer)
    web.refresh_from_db()
    assert web.state == "running"
    assert Job.objects.get().state == "failed"


def test_a_removal_leaves_the_container_as_it_was(world, client_for, broker_down):
    web = world.containers["web"]
    says_redis_is_unreachable(
        client_for("developer").delete(f"/api/containers/{web.engine_id}/?force=1"))
    web.refresh_from_db()
    assert web.state == "running"


def test_tagging_and_pulling_answer_503(world, client_for, broker_down):
    developer = client_for("developer")
    image = world.images["h1"]        # the host's base image: superusers tag it
    says_redis_is_unreachable(post_json(client_for("superuser"), f"/api/images/{image.pk}/tag/",
                                        {"repository": "base/tool", "tag": "1"}))
    says_redis_is_unreachable(post_json(developer, "/api/images/pull/",
                                        {"reference": "127.0.0.1:5000/alpha/app:1",
                                         "host": "h1"}))
    assert set(Job.objects.values_list("state", flat=True)) == {"failed"}


def test_the_run_form_shows_the_message(world, client_for, broker_down):
    page = client_for("developer").post("/containers/run/", {
        "host": "h1", "image": "busybox", "name": "never", "restart": "no",
        "network": "bridge"})
    assert page.status_code == 200
    assert "Redis is unreachable" in page.content.decode()
    assert not Container.objects.filter(name="never").exists()


def test_a_button_on_the_container_page_shows_the_message(world, client_for, broker_down):
    web = world.containers["web"]
    page = client_for("developer").post(f"/containers/{web.engine_id}/remove/", {"force": "1"},
                                        follow=True)
    assert page.status_code == 200
    assert "Redis is unreachable" in page.content.decode()
    web.refresh_from_db()
    assert web.state == "running"


def test_another_form_goes_back_to_its_page_with_the_message(world, client_for, broker_down):
    web = world.containers["web"]
    page = client_for("developer").post(
        f"/containers/{web.engine_id}/commit/", {"repository": "alpha/snap", "pause": "on"},
        HTTP_REFERER=f"http://testserver/containers/{web.engine_id}/", follow=True)
    assert page.status_code == 200
    assert "Redis is unreachable" in page.content.decode()
