"""Stacks in Chromium against the real stack, every page under its Content-Security-Policy: a
developer writes a stack in the editor (checked as they type: a privileged service is
refused at its line), sees the diff and the plan, deploys, watches the deploy and the merged
log of all services; edits it, sees the diff and the plan (what is recreated and why),
deploys; rolls back to version 1 from the history; a viewer sees it but cannot deploy; the
other team gets 404; the developer removes it with its volume. Screenshots in
test-artifacts/."""
import re
import secrets
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.browser.test_content_security_policy import Policed
from tests.e2e.test_stacks import FILE  # the stack the API's tests deploy
from tests.stack import free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]

# The diff's lines of the edit below.
WAS = re.compile(r"^-\s+GREETING: \$\{GREETING\}$")
NOW = re.compile(r"^\+\s+GREETING: \$\{GREETING\}!$")


@pytest.fixture
def people(stack):
    """(name, password) of a developer and a viewer of one team and a developer of another."""
    ours, theirs = stack.new_team("brs"), stack.new_team("brs")
    return SimpleNamespace(developer=stack.new_user("brdev", ours, "developer")[:2],
                           viewer=stack.new_user("brvie", ours, "viewer")[:2],
                           stranger=stack.new_user("brdev", theirs, "developer")[:2])


def log_in(policed, stack, credentials):
    page = policed.page
    policed.visit("/login/")
    page.fill("#id_username", credentials[0])
    page.fill("#id_password", credentials[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(stack.base + "/")
    policed.clean("login")


def test_a_stack_from_the_editor_to_a_rollback(stack, browser, people, shot):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    policed = Policed(page, stack.base)
    log_in(policed, stack, people.developer)
    name, port = "brshop" + secrets.token_hex(2), free_port()

    # The editor checks as one types: a privileged service is refused at its line.
    page.click("nav >> text=Stacks")
    page.click("#new-stack")
    expect(page).to_have_url(re.compile(r"/stacks/new/"))
    page.fill("#id_name", name)
    page.select_option("#id_host", "e2e")
    page.fill("#id_env", f"GREETING=hello\nPORT={port}\n")
    page.fill("#id_compose", FILE.replace("    stop_grace_period: 1s\n  db:",
                                          "    stop_grace_period: 1s\n    privileged: true\n"
                                          "  db:"))
    problem = page.locator("#editor-problems li.problem").first
    expect(problem).to_contain_text("line 12: ")
    expect(problem).to_contain_text("services.web.privileged: only a superuser may set this")
    shot(page, "stack-01-editor-refuses")
    page.fill("#id_compose", FILE)
    expect(page.locator("#editor-status")).to_have_text(
        "The file is valid: 2 services (db, web).")
    page.fill("#id_message", "first")
    policed.clean("the editor")

    # The review: the file's diff and the host's plan; then deploy.
    page.click("#review-button")
    expect(page.locator("#diff .d-added").first).to_contain_text("+services:")
    expect(page.locator("#plan tr[data-service=db] .plan-action")).to_have_text("created")
    expect(page.locator("#plan tr[data-service=web] .plan-action")).to_have_text("created")
    shot(page, "stack-02-review")
    policed.clean("the review")
    page.click("#deploy-button")
    expect(page).to_have_url(re.compile(r"/stacks/\d+/$"))
    stack_url = page.url
    expect(page.locator("#deploy-state")).to_have_text("succeeded", timeout=90_000)
    expect(page.locator("#stack-state")).to_have_text("running")
    expect(page.locator("#job-output")).to_contain_text("web: container " + name + "-web-1 Started")
    expect(page.locator("#services tr[data-service=web] .c-state")).to_have_text("running")
    expect(page.locator("#services tr[data-service=web] .port-link")).to_contain_text(f":{port}")

    # The merged log: every service's lines, each with its service's name.
    logs = page.locator("#logs-view")
    expect(logs.locator(".log-line", has_text="web says hello")).to_contain_text("web | ")
    expect(logs.locator(".log-line", has_text="db ready")).to_contain_text("db | ")
    shot(page, "stack-03-deployed")
    policed.clean("the stack's page")

    # An edit of the file and the .env: the file's diff, and the plan says web is recreated,
    # and why.
    page.click("#edit-button")
    page.fill("#id_compose", FILE.replace("GREETING: ${GREETING}", "GREETING: ${GREETING}!"))
    page.fill("#id_env", f"GREETING=bonjour\nPORT={port}\n")
    page.fill("#id_message", "in french")
    page.click("#review-button")
    expect(page.locator("#diff .d-removed")).to_have_text([WAS])
    expect(page.locator("#diff .d-added")).to_have_text([NOW])
    expect(page.locator("#env-changed")).to_be_visible()
    web = page.locator("#plan tr[data-service=web]")
    expect(web.locator(".plan-action")).to_have_text("recreated")
    expect(web).to_contain_text("configuration changed: environment")
    expect(page.locator("#plan tr[data-service=db] .plan-action")).to_have_text("left alone")
    shot(page, "stack-04-plan-of-a-change")
    page.click("#deploy-button")
    expect(page.locator("#deploy-state")).to_have_text("succeeded", timeout=90_000)
    expect(page.locator("#current-version")).to_have_text("2")
    expect(page.locator("#logs-view .log-line", has_text="web says bonjour")).to_have_count(1)
    policed.clean("the change deployed")

    # The history: version 2's diff against version 1, then a rollback to version 1.
    page.click("#history-link")
    expect(page.locator("#version-2 .version-message")).to_have_text("in french")
    expect(page.locator("#version-2 .d-added")).to_have_text([NOW])
    page.locator("#version-1 .redeploy-button").click()
    expect(page).to_have_url(stack_url)
    expect(page.locator("#deploy-state")).to_have_text("succeeded", timeout=90_000)
    expect(page.locator("#current-version")).to_have_text("3")
    expect(page.locator("#logs-view .log-line", has_text="web says hello").last).to_be_visible()
    page.click("#history-link")
    expect(page.locator("#version-3 .commit-meta")).to_contain_text("version 1 again")
    shot(page, "stack-05-history")
    policed.clean("the history")

    # The viewer sees it and cannot deploy; the other team does not see it.
    for who, status in ((people.viewer, 200), (people.stranger, 404)):
        other = browser.new_context()
        other_page = other.new_page()
        watched = Policed(other_page, stack.base)
        log_in(watched, stack, who)
        watched.visit(stack_url.removeprefix(stack.base), status=status)
        if status == 200:
            expect(other_page.locator("#stack-state")).to_have_text("running")
            expect(other_page.locator("#edit-button")).to_have_count(0)
            expect(other_page.locator("#remove-form")).to_have_count(0)
            watched.visit(stack_url.removeprefix(stack.base) + "edit/", status=403)
            watched.clean("the viewer", expected_errors=("status of 403",))
        other.close()

    # Removed with its volume, named before it goes.
    page.goto(stack_url)
    page.click("#remove-box summary")
    expect(page.locator("#remove-form .volume-name")).to_have_text(f"{name}_data")
    page.click("#remove-with-volumes")
    expect(page).to_have_url(stack.base + "/stacks/")
    stack.wait_job(stack.admin.ok("GET", "/api/jobs/?kind=stack.remove")["results"][0]["id"])
    page.goto(stack.base + "/stacks/")
    expect(page.locator("#stacks")).not_to_contain_text(name)
    assert f"{name}_data" not in stack.moor("e2e", "volume", "ls", "-q").stdout.split()
    policed.visit("/volumes/")
    policed.clean("the volumes page")
    context.close()
