"""Every answer under /api/ is JSON, errors included, whoever raises them (DRF, or Django
before and around it), and bad input is refused up front with a 400, never a 500: JSON nested
a thousand levels deep, a body larger than Django takes, NUL characters, a negative page
size."""
import json

import pytest
from django.test import Client

from console.containers.models import Container
from console.core.testing import PASSWORD
from console.jobs.models import Job


@pytest.fixture
def developer(world):
    """A client logged in as the developer that answers a 500 instead of raising it."""
    client = Client(raise_request_exception=False)
    assert client.login(username="developer", password=PASSWORD)
    return client


def is_json_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict) and body, body
    return body


def nothing_created():
    return Container.objects.count() == 2 and not Job.objects.exists()


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [100, 1000, 100_000])
def test_deeply_nested_json_is_a_400(developer, levels):
    body = '{"image": "busybox", "host": "h1", "labels": ' + nested(levels) + "}"
    answer = developer.post("/api/containers/", body, content_type="application/json")
    assert "nested" in is_json_error(answer, 400)["detail"]
    assert nothing_created()


def test_deeply_nested_json_in_a_build_is_a_400(developer):
    body = '{"host": "h1", "dockerfile": "FROM busybox", "build_args": ' + nested(1000) + "}"
    answer = developer.post("/api/images/build/", body, content_type="application/json")
    assert "nested" in is_json_error(answer, 400)["detail"]


def test_a_body_larger_than_django_takes_is_a_json_413(developer):
    body = json.dumps({"image": "busybox", "host": "h1", "name": "x" * 10_000_000})
    answer = developer.post("/api/containers/", body, content_type="application/json")
    assert "larger" in is_json_error(answer, 413)["detail"]
    assert nothing_created()


@pytest.mark.parametrize("body", [
    '{"image": "busybox", "host": "h1", "env": ["A=b\\u0000c"]}',
    '{"image": "busybox", "host": "h1", "cmd": ["sleep", "1\\u0000"]}',
    '{"image": "busybox", "host": "h1", "labels": {"k\\u0000": "v"}}',
])
def test_nul_anywhere_in_json_is_a_400(developer, body):
    answer = developer.post("/api/containers/", body, content_type="application/json")
    assert "NUL" in json.dumps(is_json_error(answer, 400))
    assert nothing_created()


@pytest.mark.parametrize("url", ["/api/containers/", "/api/audit/", "/api/jobs/",
                                 "/api/images/", "/api/teams/"])
@pytest.mark.parametrize("size", ["-1", "0", "many"])
def test_a_bad_page_size_is_a_400(developer, url, size):
    body = is_json_error(developer.get(f"{url}?page_size={size}"), 400)
    assert "page_size" in body


@pytest.mark.parametrize("url", ["/api/containers/?name=%00", "/api/audit/?target=a%00",
                                 "/api/containers/web%00/", "/api/jobs/?kind%00=x"])
def test_nul_in_a_url_is_a_400(developer, url):
    assert "NUL" in is_json_error(developer.get(url), 400)["detail"]


def test_nul_in_a_page_url_is_a_400(developer):
    assert developer.get("/containers/?name=%00").status_code == 400


def test_a_large_page_size_is_cut_to_the_most(developer):
    assert developer.get("/api/containers/?page_size=100000").status_code == 200


@pytest.mark.parametrize("method, url, status", [
    ("get", "/api/no-such-thing/", 404),
    ("get", "/api/containers/web/no-such-action/", 404),
    ("post", "/api/containers/web/logs/", 405),
    ("put", "/api/containers/web/stop/", 405),
    ("post", "/api/containers/", 415),
])
def test_errors_django_raises_before_drf_are_json(developer, method, url, status):
    kwargs = {"data": "x=1", "content_type": "text/plain"} if method != "get" else {}
    is_json_error(getattr(developer, method)(url, **kwargs), status)


def test_an_anonymous_caller_gets_json(world):
    is_json_error(Client().get("/api/containers/"), 401)
    is_json_error(Client().get("/api/no-such-thing/"), 404)


def test_an_unexpected_error_is_a_json_500(developer, monkeypatch):
    from console.containers import api

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")
    monkeypatch.setattr(api.ContainerViewSet, "list", broken)
    body = is_json_error(developer.get("/api/containers/"), 500)
    assert "something inside broke" not in json.dumps(body)     # no internals to the client


def test_pages_keep_their_html_error_pages(developer):
    answer = developer.get("/containers/no-such-container/")
    assert answer.status_code == 404 and answer["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("body, field", [
    ({"repository": "a/b", "message": "one\x00two"}, "message"),
    ({"repository": "a/b", "changes": ["CMD [\"sh\"]\nUSER root"]}, "changes"),
    ({"repository": "a/b", "changes": ["ENV A=\x00"]}, "changes"),
])
def test_commit_text_is_checked_up_front(world, developer, body, field):
    web = world.containers["web"]
    answer = developer.post(f"/api/containers/{web.engine_id}/commit/", body,
                            content_type="application/json")
    assert field in is_json_error(answer, 400)
    assert not Job.objects.exists()


def test_a_signal_is_one_word(world, developer):
    web = world.containers["web"]
    answer = developer.post(f"/api/containers/{web.engine_id}/kill/", {"signal": "TERM\n"},
                            content_type="application/json")
    assert "signal" in is_json_error(answer, 400)


def test_a_commit_message_may_have_several_lines(world, developer):
    web = world.containers["web"]
    answer = developer.post(f"/api/containers/{web.engine_id}/commit/",
                            {"repository": "a/b", "message": "title\n\n\tbody"},
                            content_type="application/json")
    assert answer.status_code == 202, answer.content


POSTED = ["/api/auth/token/", "/api/containers/", "/api/containers/web/stop/",
          "/api/containers/web/commit/", "/api/containers/web/team/", "/api/images/pull/",
          "/api/images/build/", "/api/teams/", "/api/teams/1/members/", "/api/teams/1/hosts/",
          "/api/users/", "/api/tokens/", "/api/grants/", "/api/hosts/1/sync/",
          "/api/images/1/tag/"]


@pytest.mark.parametrize("body", ["[]", '"text"', "1", "null", "[[[]]]"])
def test_a_body_that_is_not_an_object_is_never_a_500(world, body):
    root = Client(raise_request_exception=False)
    assert root.login(username="root", password=PASSWORD)
    answers = {(method, url): getattr(root, method)(url, body, content_type="application/json")
               for url in POSTED for method in ("post", "patch")}
    wrong = {key: (answer.status_code, answer.content[:100]) for key, answer in answers.items()
             if answer.status_code >= 500
             or not answer["Content-Type"].startswith("application/json")}
    assert wrong == {}
