"""The console's one error hierarchy (console/core/errors.py): each class stands for a status;
the API answers it as JSON, a page with its own page (the refusals) or as a message on the page
the request came from, a socket with its close code. Views raise; nobody translates."""
import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from console.core import errors

pytestmark = pytest.mark.django_db

CLASSES = [(errors.Invalid, 400, 4400), (errors.NotAuthenticated, 401, 4401),
           (errors.Forbidden, 403, 4403), (errors.NotFound, 404, 4404),
           (errors.Conflict, 409, 4409), (errors.Gone, 410, 4410),
           (errors.TooLarge, 413, 4413), (errors.RedisUnreachable, 503, 1011),
           (errors.HostSilent, 504, 1011)]


@pytest.mark.parametrize("cls,status,close_code", CLASSES, ids=lambda v: getattr(v, "__name__", v))
def test_each_class_has_its_status_and_close_code_and_a_default_message(cls, status,
                                                                         close_code):
    error = cls()
    assert isinstance(error, errors.ConsoleError)
    assert (error.status, error.close_code) == (status, close_code)
    assert error.message and error.data == {"detail": error.message}


def test_problems_by_field_are_the_answer_and_make_the_message():
    error = errors.Invalid(fields={"name": ["Too long."], "cpus": ["Not a number.", "Too many."]})
    assert error.data == {"name": ["Too long."], "cpus": ["Not a number.", "Too many."]}
    assert error.message == str(error) == "Too long. Not a number. Too many."
    assert errors.Forbidden("Not yours.", fields={"team": ["No."]}).message == "Not yours."


def page_request(method="post", referer="", path="/containers/x/stop/"):
    request = getattr(RequestFactory(), method)(path, HTTP_REFERER=referer)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def said(request) -> list[str]:
    return [message.message for message in get_messages(request)]


def test_a_page_sends_a_problem_back_to_the_form_it_came_from():
    request = page_request(referer="http://testserver/containers/x/")
    answer = errors.page_answer(request, errors.Conflict("Host h1 is offline."))
    assert (answer.status_code, answer["Location"]) == (302, "http://testserver/containers/x/")
    assert said(request) == ["Host h1 is offline."]


@pytest.mark.parametrize("method,referer", [("post", "https://elsewhere.example/page/"),
                                            ("post", ""), ("get", "http://testserver/")])
def test_nowhere_to_go_back_to_is_a_short_page_of_the_status(method, referer):
    request = page_request(method, referer)
    answer = errors.page_answer(request, errors.Conflict("Host h1 is offline."))
    assert answer.status_code == 409 and b"Host h1 is offline." in answer.content
    assert said(request) == []


def test_refusals_have_pages_of_their_own():
    request = page_request(referer="http://testserver/containers/x/")
    forbidden = errors.page_answer(request, errors.Forbidden("You may not stop web."))
    assert forbidden.status_code == 403 and b"You may not stop web." in forbidden.content
    missing = errors.page_answer(request, errors.NotFound("No such container: x"))
    assert missing.status_code == 404 and b"No such container: x" in missing.content
    anonymous = errors.page_answer(request, errors.NotAuthenticated())
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert said(request) == []


def test_a_view_says_its_problems_on_the_page_it_names(world, client_for):
    web = world.containers["web"]
    page = client_for("operator").post(f"/containers/{web.engine_id}/start/", follow=True)
    assert page.redirect_chain == [(f"/containers/{web.engine_id}/", 302)]
    assert "Cannot start container web: it is running." in page.content.decode()


def test_a_refusal_keeps_its_page_unless_the_view_says_it_on_its_own(world, client_for):
    web = world.containers["web"]
    refused = client_for("viewer").post(f"/containers/{web.engine_id}/stop/")
    assert refused.status_code == 403 and "You may not stop container web." in \
        refused.content.decode()
    told = client_for("team_admin").post(f"/containers/{web.engine_id}/team/",
                                         {"team": "alpha"}, follow=True)
    assert told.redirect_chain == [(f"/containers/{web.engine_id}/", 302)]
    assert "Only a superuser may give a container to a team." in told.content.decode()
    hidden = client_for("stranger").post(f"/containers/{web.engine_id}/team/", {"team": "beta"})
    assert hidden.status_code == 404


def test_the_api_answers_each_error_as_json_with_its_status(world, client_for):
    web, operator = world.containers["web"], client_for("operator")
    conflict = operator.post(f"/api/containers/{web.engine_id}/start/", {},
                             content_type="application/json")
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "Cannot start container web: it is running."}
    refused = client_for("viewer").post(f"/api/containers/{web.engine_id}/stop/", {},
                                        content_type="application/json")
    assert refused.status_code == 403 and refused.json() == {
        "detail": "You may not stop container web."}
    missing = operator.get("/api/containers/nothing-by-that-name/")
    assert missing.status_code == 404 and missing.json() == {
        "detail": "No such container: nothing-by-that-name"}
    bad = operator.post(f"/api/containers/{web.engine_id}/kill/", {"signal": "NOT A SIGNAL"},
                        content_type="application/json")
    assert bad.status_code == 400 and bad.json() == {"signal": ["Invalid signal 'NOT A SIGNAL'."]}
