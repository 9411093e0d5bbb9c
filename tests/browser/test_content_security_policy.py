"""Every page under its Content-Security-Policy in Chromium: each one is loaded (and used: the
terminal draws colours, dialogs open, filters submit, the player plays) while the page listens
for `securitypolicyviolation` events and the browser's console for errors; any of either fails
the test. The header itself is checked on each page."""
import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.stack import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]

LISTEN = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.reportViolation([location.pathname, event.violatedDirective, event.blockedURI,
                          event.sourceFile + ":" + event.lineNumber, event.sample].join(" "));
});
"""
STRICT = ("default-src 'self'", "script-src 'self';", "object-src 'none'", "base-uri 'self'",
          "form-action 'self'", "frame-ancestors 'none'")


class Policed:
    """A page that records what the policy refused and what went wrong in its console."""

    def __init__(self, page, base):
        self.page, self.base, self.errors, self.violations = page, base, [], []
        page.expose_function("reportViolation", lambda text: self.violations.append(text))
        page.add_init_script(LISTEN)
        page.on("console", lambda message: message.type == "error" and self.errors.append(
            f"console: {message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def visit(self, path, status=200):
        response = self.page.goto(self.base + path)
        assert response.status == status, (path, response.status)
        policy = response.headers.get("content-security-policy", "")
        for directive in STRICT:
            assert directive in policy + ";", (path, directive, policy)
        assert re.search(r"connect-src 'self' ws://127\.0\.0\.1:\d+(;|$)", policy), policy
        return response

    def clean(self, where, expected_errors=()):
        """Nothing refused, nothing in the console (but `expected_errors`) since the last look."""
        self.page.evaluate("1")              # what the page reported before now has arrived
        violations, self.violations[:] = list(self.violations), []
        errors = [error for error in self.errors
                  if not any(expected in error for expected in expected_errors)]
        self.errors.clear()
        assert not violations, (where, violations)
        assert not errors, (where, errors)


def log_in(policed, stack):
    page = policed.page
    policed.visit("/login/")
    expect(page.locator("#id_username")).to_be_focused()
    policed.clean("login")
    page.fill("#id_username", "admin")
    page.fill("#id_password", stack.admin_password)
    page.click("button[type=submit]")
    expect(page).to_have_url(stack.base + "/")


@pytest.fixture
def container(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "csp-" + secrets.token_hex(2),
        "cmd": ["sh", "-c", "echo started > /started; while true; do echo tick; sleep 1; done"],
        "team": "default"})
    assert job["state"] == "succeeded", job
    yield job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def test_the_console_pages(stack, page, container, shot):
    policed = Policed(page, stack.base)
    log_in(policed, stack)
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    policed.clean("dashboard")

    policed.visit("/containers/")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    policed.clean("containers")

    policed.visit("/hosts/e2e/")
    expect(page.locator("#host-facts")).to_contain_text("Free for placement")
    policed.clean("a host")
    policed.visit("/hosts/e2e/drain/")
    expect(page.locator("#running")).to_contain_text(container[:12])
    policed.clean("a host's drain page")

    policed.visit("/containers/run/")
    expect(page.locator("#id_host")).to_have_value("any")
    page.select_option("#id_image", "busybox:latest")
    page.select_option("#id_host", "e2e")              # run.js filters the images
    expect(page.locator("#id_image option[value='busybox:latest']")).to_have_count(1)
    expect(page.locator("#id_image option[value='busybox:latest']")).to_be_enabled()
    # The image chosen for any host stays chosen, now e2e's own.
    expect(page.locator("#id_image")).to_have_value("busybox:latest")
    assert page.evaluate("document.getElementById('id_image').selectedOptions[0]"
                         ".dataset.host") == "e2e"
    policed.clean("run form")

    policed.visit("/images/")
    page.click("#pull-button")                         # the dialog (dialog.js)
    expect(page.locator("#pull-dialog")).to_be_visible()
    page.locator("#pull-dialog [data-close-dialog]").first.click()
    page.select_option("select[name=host]", "e2e")     # submits itself (filters.js)
    expect(page).to_have_url(re.compile(r"/images/\?host=e2e$"))
    policed.clean("images")
    for path in ("/images/pull/", "/images/build/"):
        policed.visit(path)
        expect(page.locator("h1")).to_be_visible()
        policed.clean(path)

    # Stacks and volumes (tests/browser/test_stacks.py uses every stack page under the policy).
    policed.visit("/stacks/")
    page.click("#new-stack")
    page.fill("#id_compose", "services:\n  web:\n    image: busybox\n")   # checked as typed
    expect(page.locator("#editor-status")).not_to_have_text("")
    policed.clean("stacks")
    policed.visit("/volumes/")
    page.select_option("select[name=host]", "e2e")
    expect(page).to_have_url(re.compile(r"/volumes/\?host=e2e$"))
    policed.clean("volumes")

    policed.visit("/jobs/")
    page.select_option("select[name=state]", "succeeded")
    expect(page).to_have_url(re.compile(r"/jobs/\?state=succeeded$"))
    job = page.locator("#jobs tr[data-job] a").first.get_attribute("href")
    policed.clean("jobs")
    policed.visit(job)
    expect(page.locator(".job-state")).to_have_text("succeeded")
    policed.clean("a job")

    policed.visit("/teams/")
    team = page.locator("#teams a").first.get_attribute("href")
    policed.clean("teams")
    policed.visit(team)
    expect(page.locator("#members")).to_contain_text("admin")
    policed.clean("a team")

    # The team's usage, its bars drawn by usage.js once the host has reported a reading.
    usage = team + "usage/"
    wait_until(lambda: policed.visit(usage) and page.locator(".usage-host svg").count(),
               what="the usage page with a reading")
    expect(page.locator(".usage-host svg rect.usage-bar").first).to_be_visible()
    policed.clean("a team's usage")
    for path in ("/schedules/", "/requests/"):
        policed.visit(path)
        expect(page.locator("h1")).to_be_visible()
        policed.clean(path)

    policed.visit("/audit/")
    entry = page.locator("#audit tr[data-entry] a").first.get_attribute("href")
    policed.clean("audit")
    policed.visit(entry)
    expect(page.locator("#chain")).to_be_visible()
    policed.clean("an audit entry")

    policed.visit("/account/tokens/")
    page.fill("input[name=name]", "csp")
    page.click("button:has-text('New token')")
    expect(page.locator("#new-token")).to_contain_text("mrg_")
    policed.clean("tokens")

    for path in ("/account/two-factor/", "/login-settings/", "/sso/mappings/"):
        policed.visit(path)
        expect(page.locator("h1")).to_be_visible()
        policed.clean(path)
    # Adding a host: the join tokens' page, a token made (its page copies with copy.js), and
    # revoked (tests/browser/test_join_tokens.py uses them end to end).
    joining = "csp-" + secrets.token_hex(3)
    policed.visit("/join-tokens/")
    page.fill("#id_name", joining)
    page.click("#make-join-token")
    expect(page.locator("#join-token")).to_contain_text("mjt_")
    page.click("[data-copy=join-command]")
    expect(page.locator("[data-copy=join-command]")).not_to_have_text("Copy the command")
    policed.clean("a join token made")
    policed.visit("/join-tokens/")
    page.locator(f"#join-tokens tr[data-host='{joining}'] .revoke-join-token").click()
    expect(page.locator(".messages")).to_contain_text("is revoked")
    policed.clean("a join token revoked")

    policed.visit("/account/two-factor/set-up/")        # its QR code is an image of our own
    wait_until(lambda: page.evaluate("document.getElementById('qr-code').naturalWidth") > 0,
               what="the QR code drawn")
    policed.clean("setting up a second factor")

    policed.visit("/api/docs/")
    policed.clean("API docs")
    policed.visit("/containers/" + "0" * 64 + "/", status=404)
    policed.clean("a page that is not there", expected_errors=("status of 404",))
    shot(page, "csp-console-pages")


def test_a_container_its_terminal_logs_commit_and_recording(stack, page, container, shot):
    policed = Policed(page, stack.base)
    log_in(policed, stack)
    policed.visit(f"/containers/{container}/")
    expect(page.locator("#state")).to_have_text("running")
    expect(page.locator("#inspect")).to_contain_text('"Status": "running"')
    expect(page.locator("#logs-view .log-line.out").first).to_contain_text("tick")
    page.click("#commit-button")
    expect(page.locator("#commit-dialog")).to_be_visible()
    page.locator("#commit-dialog [data-close-dialog]").first.click()

    # The terminal, with 16-colour, 256-colour and 24-bit colour output (xterm.js draws the
    # last with style attributes).
    page.click("#terminal-connect")
    expect(page.locator("#terminal-status")).to_contain_text("Connected")
    screen = page.locator("#terminal-screen .xterm-rows")
    page.locator("#terminal-screen .xterm-helper-textarea").focus()
    page.keyboard.type("printf '\\033[31mred\\033[0m \\033[38;5;208mamber\\033[0m "
                       "\\033[38;2;10;200;90mtrue-\\033[48;2;40;40;90mcolour\\033[0m\\n'")
    page.keyboard.press("Enter")
    expect(screen).to_contain_text("red amber true-colour")
    policed.clean("a container's terminal")
    colour = screen.locator("span", has_text=re.compile(r"^true-$"))
    expect(colour).to_have_css("color", "rgb(10, 200, 90)")   # the style was applied
    shot(page, "csp-terminal")
    page.keyboard.type("exit")
    page.keyboard.press("Enter")
    expect(page.locator("#terminal-status")).to_contain_text("exit")
    policed.clean("a container's page")

    # The recorded session in the player.
    opened = next(entry for entry in stack.admin.ok(
        "GET", f"/api/audit/?target={container}&action=container.terminal.open")["results"])
    policed.visit(f"/terminal-sessions/{opened['params']['session']}/")
    expect(page.locator("#player[data-ready='1']")).to_have_count(1)
    page.click("#player-play")
    expect(page.locator("#player-screen .xterm-rows")).to_contain_text("true-colour")
    policed.clean("the recording's player")

    # Its commit, in the history and on its own page.
    job = stack.admin.ok("POST", f"/api/containers/{container}/commit/?wait=1", {
        "repository": "csp/check", "tag": "1", "message": "a commit to look at"})
    assert job["state"] == "succeeded", job
    policed.visit("/commits/")
    expect(page.locator("#lineage svg")).to_be_visible()
    commit = page.locator("#gitlog li", has_text="csp/check:1").locator("a.sha")
    commit.click()
    expect(page.locator("#files")).to_contain_text("/started")
    policed.clean("commits")
    shot(page, "csp-commit")


def test_the_admin_and_the_api_pages(stack, page, container, shot):
    policed = Policed(page, stack.base)
    log_in(policed, stack)
    policed.visit("/admin/")
    page.click("a[href='/admin/auth/user/']")
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("#id_last_login_0")).to_be_visible()        # the date widgets
    page.click("#calendarlink0")
    expect(page.locator("#calendarbox0")).to_be_visible()
    policed.clean("the admin's user pages")
    policed.visit("/admin/auth/user/add/")
    policed.visit("/admin/hosts/host/")
    policed.visit("/admin/teams/team/")
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("h1")).to_be_visible()
    policed.visit("/admin/audit/auditentry/")
    policed.clean("the admin")

    for path in ("/api/", "/api/hosts/", "/api/containers/", f"/api/containers/{container}/"):
        policed.visit(path)
        expect(page.locator(".prettyprint").first).to_be_visible()
        policed.clean(path)
    page.click("#extra-actions-menu")                                  # the one style
    expect(page.locator(".dropdown-menu", has_text="Start")).to_be_visible()
    policed.clean("the API's extra actions")
    shot(page, "csp-api")
