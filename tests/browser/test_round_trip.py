"""A new user does the whole round trip in the browser: logs in, launches a busybox container
running `sleep 300`, sees it become running without reloading, stops it, sees it exited."""
import json
import re
import secrets

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def developer(stack):
    """A fresh user, made by the admin through the API, developer in the default team."""
    api = stack.admin
    name = "dev" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    api.ok("POST", "/api/users/", {"username": name, "password": password})
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name, "role": "developer"})
    return name, password


def log_in(page, stack, username, password):
    page.goto(stack.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(stack.base + "/")


def test_launch_watch_and_stop_a_container(stack, page, developer, shot):
    username, password = developer
    page.goto(stack.base + "/")
    expect(page).to_have_url(re.compile(r"/login/"))
    shot(page, "01-login")
    log_in(page, stack, username, password)
    expect(page.locator("#hosts")).to_contain_text("e2e")
    expect(page.locator("#hosts .host-state").first).to_have_text("online")
    shot(page, "02-dashboard")

    page.click("text=Run a container")
    page.select_option("#id_host", "e2e")
    page.select_option("#id_image", "busybox:latest")
    page.fill("#id_name", "browser-sleeper")
    page.fill("#id_command", "sleep 300")
    page.fill("#id_memory", "64m")
    shot(page, "03-run-form")
    page.click("button:has-text('Run')")

    # The detail page: pending, then running, pushed over the websocket (no reload).
    expect(page.locator("h1")).to_contain_text("browser-sleeper")
    page.evaluate("window.__marker = 'same page'")
    expect(page.locator("#state")).to_have_text("running", timeout=30_000)
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    expect(page.locator("#inspect")).to_contain_text('"Status": "running"')
    shot(page, "04-detail-running")

    page.click("form[data-verb=stop] button")
    expect(page.locator("#job-progress")).to_contain_text("stop")
    expect(page.locator("#state")).to_have_text("exited", timeout=30_000)
    expect(page.locator("#job-progress")).to_contain_text("succeeded")
    expect(page.locator("#jobs tr", has_text="stop").locator(".job-state")).to_have_text(
        "succeeded")
    assert page.evaluate("window.__marker") == "same page"          # never reloaded
    shot(page, "05-detail-exited")

    page.click("nav >> text=Containers")
    row = page.locator("tr", has_text="browser-sleeper")
    expect(row.locator(".c-state")).to_have_text("exited")
    shot(page, "06-containers")

    # Start it again from the list's page and remove it with the bulk action.
    row.locator("input[type=checkbox]").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk button[value=remove]")
    expect(page.locator(".messages")).to_contain_text("Remove requested for 1")
    expect(page.locator("tr", has_text="browser-sleeper")).to_have_count(0, timeout=30_000)


def test_the_containers_list_updates_live(stack, page, developer, shot):
    username, password = developer
    log_in(page, stack, username, password)
    page.goto(stack.base + "/containers/")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    page.evaluate("window.__marker = 'same page'")
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "listed-live", "cmd": ["sleep", "300"],
        "team": "default"})
    row = page.locator("tr", has_text="listed-live")
    expect(row.locator(".c-state")).to_have_text("running", timeout=30_000)
    page.goto(stack.base + "/")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    page.evaluate("window.__marker = 'same page'")
    restart = stack.admin.ok("POST", f"/api/containers/{job['container']}/restart/?wait=1")
    dashboard_row = page.locator(f'#jobs tr[data-job="{restart["id"]}"]')
    expect(dashboard_row.locator(".job-state")).to_have_text("succeeded", timeout=30_000)
    expect(dashboard_row).to_contain_text("restart")
    shot(page, "07b-dashboard-live-job")
    page.goto(stack.base + "/containers/")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    page.evaluate("window.__marker = 'same page'")
    shot(page, "07-containers-live")
    stack.admin.ok("POST", f"/api/containers/{job['container']}/kill/?wait=1")
    expect(row.locator(".c-state")).to_have_text("exited", timeout=30_000)
    expect(row.locator(".c-exit")).to_have_text("137")
    assert page.evaluate("window.__marker") == "same page"
    stack.admin.ok("DELETE", f"/api/containers/{job['container']}/?wait=1")


def test_a_job_whose_events_are_lost_still_settles_on_the_page(stack, page, developer):
    """Events are sent once and not kept. With every job event dropped between the server and
    the page, a job shown running when the page loaded still ends up shown as finished."""
    username, password = developer
    dropped = []

    def without_job_events(socket):
        server = socket.connect_to_server()

        def to_page(message):
            if isinstance(message, str) and json.loads(message).get("type") == "job":
                dropped.append(message)
            else:
                socket.send(message)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/ws/events/$"), without_job_events)
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "slow-to-stop-" + secrets.token_hex(2),
        "cmd": ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"], "team": "default"})
    assert job["state"] == "succeeded", job
    container = job["container"]
    try:
        log_in(page, stack, username, password)
        stop = stack.admin.ok("POST", f"/api/containers/{container}/stop/", {"timeout": 8})
        page.goto(f"{stack.base}/containers/{container}/")
        badge = page.locator(f'#jobs tr[data-job="{stop["id"]}"] .job-state')
        assert badge.text_content().strip() in ("queued", "running")
        expect(badge).to_have_text("succeeded", timeout=40_000)
        assert any(json.loads(message)["job"]["id"] == stop["id"] for message in dropped)
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_a_late_answer_does_not_undo_a_newer_state(stack, page, developer):
    """A description fetched before an event may arrive after it: the page keeps the newer."""
    username, password = developer
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "late-" + secrets.token_hex(2),
        "cmd": ["sleep", "300"], "team": "default"})
    container = job["container"]
    try:
        log_in(page, stack, username, password)
        page.goto(f"{stack.base}/containers/{container}/")
        expect(page.locator("#state")).to_have_text("running")
        run_badge = page.locator(f'#jobs tr[data-job="{job["id"]}"] .job-state')
        expect(run_badge).to_have_text("succeeded")
        now = stack.admin.ok("GET", f"/api/containers/{container}/")
        stale = dict(now, state="created", updated_at="2000-01-01T00:00:00Z", removed=False)
        page.evaluate("c => window.moorage.applyContainer(c)", stale)
        page.evaluate("j => window.moorage.applyJob(j)", dict(job, state="running"))
        expect(page.locator("#state")).to_have_text("running")
        expect(run_badge).to_have_text("succeeded")
        newer = dict(now, state="paused", updated_at="2100-01-01T00:00:00Z", removed=False)
        page.evaluate("c => window.moorage.applyContainer(c)", newer)
        expect(page.locator("#state")).to_have_text("paused")
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_run_form_errors_are_shown_beside_the_fields(stack, page, developer, shot):
    username, password = developer
    log_in(page, stack, username, password)
    page.goto(stack.base + "/containers/run/")
    page.select_option("#id_host", "e2e")
    page.select_option("#id_image", "busybox:latest")
    page.fill("#id_memory", "abc")
    page.fill("#id_cpus", "-1")
    page.click("button:has-text('Run')")
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.locator("#run-form")).to_contain_text("Invalid memory 'abc'")
    expect(page.locator("#run-form")).to_contain_text("CPUs must be a positive number")
    shot(page, "08-run-form-errors")


def test_other_pages_render(stack, page, shot):
    log_in(page, stack, "admin", stack.admin_password)
    for path, name in (("/images/", "09-images"), ("/jobs/", "10-jobs"),
                       ("/account/tokens/", "11-tokens"), ("/api/docs/", "12-api-docs")):
        page.goto(stack.base + path)
        expect(page.locator("h1")).to_be_visible()
        shot(page, name)
    page.goto(stack.base + "/account/tokens/")
    page.fill("input[name=name]", "ci")
    page.click("button:has-text('New token')")
    expect(page.locator("#new-token")).to_contain_text("mrg_")
    shot(page, "13-new-token")


def test_a_superusers_navigation_fits_on_one_line_at_1280_pixels(stack, page):
    """Fourteen links, the user's name and Log out: one row of the top bar, none pushed off."""
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, stack, "admin", stack.admin_password)
    links = page.locator(".topbar nav a")
    assert links.count() >= 14
    tops = {round(links.nth(index).bounding_box()["y"]) for index in range(links.count())}
    assert len(tops) == 1, tops
    logout = page.locator(".topbar .user").bounding_box()
    assert logout["x"] + logout["width"] <= 1280 and round(logout["y"]) <= min(tops) + 8
