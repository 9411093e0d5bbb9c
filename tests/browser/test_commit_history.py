"""In the browser: the commit dialog on the container page (with a mistake first, shown beside
its field), the history with its lineage picture, one commit, and running a container from it.
Screenshots go to test-artifacts/commit-*.png."""
import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.test_round_trip import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def developer(stack):
    """A fresh developer of the default team, with an email (part of a commit's author)."""
    name = "committer" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    stack.admin.ok("POST", "/api/users/", {"username": name, "password": password,
                                           "email": f"{name}@example.test"})
    team = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                if t["name"] == "default")
    stack.admin.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name,
                                                                 "role": "developer"})
    return name, password


@pytest.fixture
def source(stack):
    """A running container of the default team that has added, changed and deleted files."""
    name = "browser-src-" + secrets.token_hex(2)
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name, "team": "default",
        "cmd": ["sh", "-c", "mkdir -p /srv/www && echo hello > /srv/www/index.html && "
                            "echo more >> /etc/passwd && rm /etc/group && sleep 300"]})
    assert job["state"] == "succeeded", job
    yield name, job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def test_commit_dialog_history_and_run_from_a_commit(stack, page, developer, source, shot):
    username, password = developer
    name, container_id = source
    log_in(page, stack, username, password)
    page.goto(f"{stack.base}/containers/{container_id}/")
    expect(page.locator("#state")).to_have_text("running", timeout=30_000)

    # The dialog; first with a relative WORKDIR, which comes back beside its field.
    page.click("#commit-button")
    dialog = page.locator("#commit-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#id_repository").fill("web/site")
    dialog.locator("#id_tag").fill("v1")
    dialog.locator("#id_message").fill("Serve the site\n\nindex.html, and a longer passwd")
    dialog.locator("#id_cmd").fill('["httpd", "-f", "-h", "/srv/www"]')
    dialog.locator("#id_workdir").fill("srv/www")
    dialog.locator("#id_expose").fill("80")
    dialog.locator("#id_label").fill("maintainer=" + username)
    shot(page, "commit-01-dialog")
    dialog.locator("button[type=submit]").click()
    form = page.locator("#commit-form")
    expect(form.locator(".field-error")).to_have_text(["An absolute path, starting with /."])
    expect(form.locator("#id_repository")).to_have_value("web/site")
    shot(page, "commit-02-dialog-error")
    form.locator("#id_workdir").fill("/srv/www")
    form.locator("button[type=submit]").click()

    # Back on the container page: the request, then the job finishing, pushed live.
    expect(page.locator(".messages")).to_contain_text("Commit of " + name)
    commit_row = page.locator("#jobs tr", has_text="commit").first
    expect(commit_row.locator(".job-state")).to_have_text("succeeded", timeout=60_000)
    shot(page, "commit-03-committed")

    # The history: git log, newest first, and the lineage picture.
    page.click("nav >> text=Commits")
    entry = page.locator("#gitlog li").first
    expect(entry).to_contain_text("web/site:v1")
    expect(entry).to_contain_text("Serve the site")
    expect(entry).to_contain_text(f"{username} <{username}@example.test>")
    expect(page.locator("#lineage svg .lg-base")).to_have_count(1)
    expect(page.locator("#lineage svg", has_text="web/site:v1")).to_have_count(1)
    shot(page, "commit-04-history")

    # One commit: its files, its parent, and "run a container from this image".
    entry.locator("a.sha").click()
    expect(page.locator("#files")).to_contain_text("/srv/www/index.html")
    expect(page.locator("#files tr.f-D")).to_contain_text("/etc/group")
    expect(page.locator("#files tr.f-C", has_text="/etc/passwd")).to_have_count(1)
    expect(page.locator("#parent")).to_contain_text("busybox:latest")
    expect(page.locator("#config-changes")).to_contain_text("WORKDIR /srv/www")
    expect(page.locator("#message pre")).to_contain_text("index.html, and a longer passwd")
    shot(page, "commit-05-detail")
    page.click("#run-from-commit")
    expect(page.locator("#id_image")).to_have_value("web/site:v1")
    run_name = "from-commit-" + secrets.token_hex(2)
    page.select_option("#id_host", "e2e")
    page.fill("#id_name", run_name)
    page.fill("#id_command", "sh -c 'test -s index.html && ! test -e /etc/group'")
    shot(page, "commit-06-run-from-commit")
    page.click("button:has-text('Run')")
    expect(page.locator("h1")).to_contain_text(run_name)
    expect(page.locator("#state")).to_have_text("exited", timeout=30_000)
    expect(page.locator(".c-exit").first).to_have_text("0")
    shot(page, "commit-07-ran-from-commit")
    created = stack.admin.ok("GET", f"/api/containers/{run_name}/")
    assert created["image"] == "web/site:v1" and re.fullmatch(r"[0-9a-f]{64}", created["id"])
    stack.admin.call("DELETE", f"/api/containers/{run_name}/?force=1&wait=1")
