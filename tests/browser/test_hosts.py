"""A superuser takes a host out of service in the browser, the console on PostgreSQL: cordons it
(placement then has nowhere to go, and says so on the run form), drains it (what runs there,
stopped once the host's name confirms it), and watches a container of a host whose agent died
turn unknown and come back, live. Every page under the strict Content-Security-Policy."""
import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.test_content_security_policy import Policed, log_in
from tests.stack import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def stack(postgres_stack):
    return postgres_stack


def running(stack, name):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name, "cmd": ["sleep", "600"],
        "team": "default"})
    assert job["state"] == "succeeded", job
    return job["container"]


def test_cordon_drain_and_an_unknown_container(stack, page, shot):
    api = stack.admin
    first, second = (f"hosted-{secrets.token_hex(2)}" for _ in range(2))
    running(stack, first)
    # Other tests of this stack may have added hosts: those are cordoned too, so that
    # placement has nowhere to go.
    others = [h for h in api.ok("GET", "/api/hosts/")["results"] if h["name"] != "e2e"]
    for host in others:
        api.ok("POST", f"/api/hosts/{host['id']}/cordon/")
    policed = Policed(page, stack.base)
    log_in(policed, stack)
    try:
        page.click("#hosts a[href='/hosts/e2e/']")
        expect(page.locator("#host-facts")).to_contain_text("Free for placement")
        policed.clean("the host's page")
        page.click("#cordon")
        expect(page.locator("#cordoned")).to_have_text("cordoned")
        policed.clean("cordoned")

        # Placement has nowhere to go, and the form says why.
        policed.visit("/containers/run/")
        expect(page.locator("#id_host")).to_have_value("any")
        page.select_option("#id_image", "busybox:latest")
        page.fill("#id_name", "nowhere")
        page.click("button:has-text('Run')")
        expect(page.locator(".field-error")).to_contain_text("e2e (cordoned)")
        policed.clean("the run form refused")

        policed.visit("/hosts/e2e/drain/")
        row = page.locator(f"#running tr:has(a:text-is('{first}'))")
        expect(row).to_contain_text("running")
        shot(page, "hosts-drain")
        page.fill("#id_confirm", "e2e")
        page.click("#stop-all")
        expect(page.locator(".messages")).to_contain_text("Stop requested for")
        policed.clean("the drain page")
        wait_until(lambda: api.ok("GET", f"/api/containers/{first}/")["state"] == "exited",
                   timeout=60, what=f"{first} stopped")

        policed.visit("/hosts/e2e/")
        page.click("#uncordon")
        expect(page.locator("#cordoned")).to_have_count(0)
        policed.visit("/containers/run/")
        page.select_option("#id_image", "busybox:latest")
        page.fill("#id_name", second)
        page.fill("#id_command", "sleep 600")
        page.click("button:has-text('Run')")
        expect(page.locator(".messages")).to_contain_text("placed on e2e: ")
        expect(page.locator("#state")).to_have_text("running", timeout=30_000)
        policed.clean("placed")

        # The host's agent dies: the container turns unknown on its page, live, and comes back.
        stack.kill_worker("e2e")
        try:
            expect(page.locator("#state")).to_have_text("unknown", timeout=60_000)
            expect(page.locator("#state")).to_have_attribute(
                "title", re.compile("last known: running"))
            expect(page.locator("form[data-verb=stop] button")).to_be_disabled()
            shot(page, "hosts-unknown")
        finally:
            stack.start_worker("e2e")
        expect(page.locator("#state")).to_have_text("running", timeout=60_000)
        expect(page.locator("form[data-verb=stop] button")).to_be_enabled()
        policed.clean("the container's page")
    finally:
        stack.wait_host_online("e2e", timeout=60)
        for host in others + [stack.host("e2e")]:
            api.call("POST", f"/api/hosts/{host['id']}/uncordon/")
        for name in (first, second):
            api.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")
