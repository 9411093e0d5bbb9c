"""A member asks for access from a container's page in the browser, and reads the answer there
as it comes: no reload between the team admin's decision and the page showing it."""
import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.test_round_trip import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def viewer(stack):
    """A fresh user, viewer in the default team."""
    api = stack.admin
    name = "viewer" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    api.ok("POST", "/api/users/", {"username": name, "password": password})
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name, "role": "viewer"})
    return name, password


@pytest.fixture
def container(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "asked-" + secrets.token_hex(3),
        "cmd": ["sleep", "300"], "team": "default"})
    assert job["state"] == "succeeded", job
    yield job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def test_the_requester_sees_the_answer_without_reloading(stack, page, viewer, container, shot):
    log_in(page, stack, *viewer)
    page.goto(f"{stack.base}/containers/{container}/")
    form = page.locator("#request-form")
    form.locator("input[value=terminal]").check()
    form.locator("textarea[name=reason]").fill("to see why it hangs")
    form.locator("button[type=submit]").click()
    asked = page.locator(".own-request").first
    expect(asked.locator(".state")).to_have_text("pending")
    request_id = asked.get_attribute("data-request")
    expect(page.locator("#live-status")).to_have_class(re.compile(r"\bon\b"))
    page.evaluate("window.notReloaded = true")

    stack.admin.ok("POST", f"/api/access-requests/{request_id}/approve/", {"note": "one hour"})
    expect(asked.locator(".state")).to_have_text("approved")
    expect(asked.locator(".answer")).to_have_text(re.compile(
        r"^ until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by admin — “one hour”$"))
    expect(asked).to_have_class(re.compile(r"\brequest-approved\b"))
    assert page.evaluate("window.notReloaded") is True
    shot(page, "access-request-approved")
