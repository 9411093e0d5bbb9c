"""The container page's terminal and live logs in Chromium: type into xterm.js and see the
output on screen, run `top` and quit it, edit with `vi`, paste 100 KB, reload and find the
same shell, follow the logs with stdout and stderr apart, then replay the recorded session.
Screenshots go to test-artifacts/."""
import re
import secrets

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]

CHATTY = "i=0; while true; do echo line-$i; echo oops-$i >&2; i=$((i+1)); sleep 0.3; done"


@pytest.fixture
def container(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "browser-term-" + secrets.token_hex(2),
        "cmd": ["sh", "-c", CHATTY], "team": "default"})
    assert job["state"] == "succeeded", job
    yield job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def log_in(page, stack):
    page.goto(stack.base + "/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", stack.admin_password)
    page.click("button[type=submit]")
    expect(page).to_have_url(stack.base + "/")


def screen_text(page) -> str:
    return page.locator("#terminal-screen .xterm-rows").inner_text()


def type_line(page, text):
    page.locator("#terminal-screen .xterm-helper-textarea").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_terminal_top_paste_reconnect_logs_and_replay(stack, page, container, shot):
    log_in(page, stack)
    page.goto(stack.base + f"/containers/{container}/")
    terminal = page.locator("#terminal-screen .xterm-rows")

    # Live logs: the last lines, then new ones; stderr marked.
    expect(page.locator("#logs-view .log-line.out").first).to_contain_text("line-")
    expect(page.locator("#logs-view .log-line.err").first).to_contain_text("oops-")
    page.check("#logs-timestamps")
    page.fill("#logs-search", "oops-1")
    expect(page.locator("#logs-matches")).to_contain_text("matching line")
    shot(page, "20-logs-live")
    page.fill("#logs-search", "")

    # The terminal: a shell, typing, output on screen.
    page.click("#terminal-connect")
    expect(page.locator("#terminal-status")).to_contain_text("Connected: exec /bin/ash")
    expect(terminal).to_contain_text("#")
    type_line(page, "echo hi-from-the-browser; hostname")
    expect(terminal).to_contain_text("hi-from-the-browser")
    expect(terminal).to_contain_text(container[:12])
    shot(page, "21-terminal-typed")

    # A full-screen program: top draws, q quits it.
    type_line(page, "top")
    expect(terminal).to_contain_text("Mem:", timeout=10_000)
    expect(terminal).to_contain_text("PID")
    shot(page, "22-terminal-top")
    page.keyboard.press("q")
    type_line(page, "echo top-is-gone")
    expect(terminal).to_contain_text("top-is-gone")

    # vi: a full-screen editor, Escape and all.
    type_line(page, "vi /tmp/note")
    expect(terminal).to_contain_text("/tmp/note", timeout=10_000)
    page.keyboard.type("ihello from vi")
    page.keyboard.press("Escape")
    page.wait_for_timeout(400)           # vi tells a lone Escape from a sequence by time
    page.keyboard.type(":wq")
    page.keyboard.press("Enter")
    type_line(page, "cat /tmp/note")
    expect(terminal).to_contain_text(re.compile(r"cat /tmp/note\s*hello from vi"))

    # Paste 100 KB (1,000 lines of 100 bytes) into cat; every byte arrives.
    type_line(page, "cat > /tmp/pasted")
    page.evaluate("""() => {
        const text = ("y".repeat(99) + "\\n").repeat(1000);
        const data = new DataTransfer();
        data.setData("text/plain", text);
        document.querySelector("#terminal-screen .xterm-helper-textarea").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("#terminal-status")).not_to_contain_text("Pasting", timeout=30_000)
    page.keyboard.press("Control+d")
    type_line(page, "wc -c < /tmp/pasted; echo pid-$$")
    expect(terminal).to_contain_text("100000", timeout=20_000)
    shot(page, "23-terminal-pasted")
    pid = re.search(r"pid-(\d+)", screen_text(page)).group(1)

    # Reload: the page reconnects to the same shell and redraws its screen.
    page.reload()
    expect(page.locator("#terminal-status")).to_contain_text("Resumed", timeout=20_000)
    expect(terminal).to_contain_text("pid-" + pid)
    type_line(page, "echo again-$$")
    expect(terminal).to_contain_text("again-" + pid)
    page.click("#terminal-full")
    shot(page, "24-terminal-resumed-full")
    page.click("#terminal-full")

    # End the session; it is recorded and replays.
    type_line(page, "exit 0")
    expect(page.locator("#terminal-status")).to_contain_text("The session ended (exit code 0)")
    page.reload()
    page.click(".terminal-sessions summary")
    page.click(".terminal-sessions a:has-text('replay')")
    expect(page.locator("h1")).to_contain_text("Terminal session")
    expect(page.locator("#player")).to_have_attribute("data-ready", "1")
    page.select_option("#player-speed", "16")
    page.click("#player-play")
    expect(page.locator("#player")).to_have_attribute("data-done", "1", timeout=60_000)
    expect(page.locator("#player-screen .xterm-rows")).to_contain_text("again-" + pid)
    # Keystrokes are not kept by default (a password typed unechoed would be): the player
    # says so instead of offering an empty list.
    expect(page.locator("#player-keys")).to_be_disabled()
    expect(page.locator("#player-keys-label")).to_contain_text("keystrokes were not recorded")
    shot(page, "25-replay")
