"""Terminals end to end: websocket → daphne → Redis → the host's bridge → conmon → a shell in
a real container, and back. Round trip, size, Ctrl-C, Ctrl-D and the exit frame, a dropped
socket resumed with the screen, a shell that outlives its bridge, a flood that neither blocks
the container nor grows memory, attach, the audit entries and the recording, permissions, and
a container on a second host served by the same web process."""
import asyncio
import json
import os
import secrets
import time
import urllib.parse
import urllib.request

import pytest
from websockets.asyncio.client import connect

from tests.stack import wait_until
from tests.stream_client import TerminalClient, resume_and_exit, run, socket_url

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def sleeper(stack):
    """A running busybox container in the default team; removed after the test."""
    name = "term-" + secrets.token_hex(3)
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name, "cmd": ["sleep", "600"],
        "team": "default"})
    assert job["state"] == "succeeded", job
    yield job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def token(stack):
    return stack.admin.token


async def shell(stack, container, **query) -> TerminalClient:
    client = await TerminalClient.open(stack.base, token(stack), container, **query)
    await client.expect(b"# ")
    return client


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_echo_and_hostname_round_trip(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        assert client.session["mode"] == "exec" and client.session["command"] == ["/bin/ash"]
        mark = client.mark()
        await client.send(b"echo hi; hostname\r")
        await client.expect(b"hi\r\n" + sleeper[:12].encode(), after=mark)
        await client.close()
    run(scenario())


def test_resize_reaches_the_terminal(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper, cols=91, rows=27)
        await client.send(b"stty size\r")
        await client.expect(b"27 91")
        await client.resize(132, 43)
        mark = client.mark()
        await client.send(b"stty size\r")
        await client.expect(b"43 132", after=mark)
        await client.close()
    run(scenario())


def test_a_resize_sent_before_the_session_opens_is_applied(stack, sleeper):
    """An API client that sizes its terminal as soon as the socket is open, before the
    `session` frame, gets that size (the control message is held until the session opens)."""
    async def scenario():
        socket = await connect(socket_url(stack.base, sleeper, "terminal"),
                               additional_headers={"Authorization": f"Token {token(stack)}"},
                               max_size=None, ping_interval=None)
        await socket.send(json.dumps({"type": "resize", "cols": 101, "rows": 37}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 20))
            assert message["type"] != "error", message
            if message["type"] == "session":
                break
        client = TerminalClient(socket, message)
        await client.expect(b"# ")
        mark = client.mark()
        await client.send(b"stty size\r")
        await client.expect(b"37 101", after=mark)
        await client.close()
    run(scenario())


def test_ctrl_c_interrupts_and_ctrl_d_ends_with_the_exit_frame(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        # The child prints only once the shell has made it the terminal's foreground job, so
        # the Ctrl-C that follows reaches the sleep and not a shell still setting it up.
        mark = client.mark()
        await client.send(b"sh -c 'echo sleep-st\"\"arted; exec sleep 100'; echo finished\r")
        await client.expect(b"sleep-started", after=mark)
        started = time.monotonic()
        mark = client.mark()
        await client.send(b"\x03")
        await client.expect(b"# ", after=mark)
        assert time.monotonic() - started < 5
        assert b"\nfinished" not in client.output        # the typed line echoes the word
        await client.send(b"\x04")                   # the shell's status: its last command's
        assert await client.wait_exit() == 130
        await client.close()
    run(scenario())


def test_utf8_and_colours_pass_through(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        mark = client.mark()
        await client.send("printf '\\033[31mred\\033[0m €\\n'\r".encode())
        await client.expect("\x1b[31mred\x1b[0m €".encode(), after=mark)
        await client.close()
    run(scenario())


def test_a_dropped_socket_resumes_the_same_shell_with_its_screen(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        session = client.session["id"]
        await client.send(b"MARK=kept-$$; echo screen-before-drop\r")
        await client.expect(b"screen-before-drop\r\n")
        await client.close()
        await asyncio.sleep(0.5)
        again = await TerminalClient.open(stack.base, token(stack), sleeper, session=session)
        assert again.session["resumed"] is True and again.session["id"] == session
        await again.expect(b"screen-before-drop")           # the replayed screen
        mark = again.mark()
        await again.send(b"echo $MARK\r")
        await again.expect(b"kept-", after=mark)
        await again.send(b"exit 7\r")
        assert await again.wait_exit() == 7
    run(scenario())


def test_the_shell_outlives_a_restart_of_its_hosts_bridge(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        session = client.session["id"]
        pid = await client.shell_pid()
        stack.kill_bridge("e2e")
        stack.start_bridge("e2e")
        await client.close()
        again = await asyncio.wait_for(open_when_ready(stack, sleeper, session), 30)
        await again.expect(b"pid=" + pid)                   # replayed from conmon's log
        assert await again.shell_pid() == pid
        await again.send(b"exit\r")
        await again.wait_exit()
    run(scenario())


async def open_when_ready(stack, container, session):
    while True:
        try:
            return await TerminalClient.open(stack.base, token(stack), container,
                                             session=session)
        except RuntimeError as error:
            if "did not answer" not in str(error):
                raise
        await asyncio.sleep(0.5)


def test_a_flood_neither_blocks_the_container_nor_grows_memory(stack, sleeper):
    bridge = stack.processes["bridge-e2e"].pid
    web = stack.processes["web"].pid

    async def scenario():
        client = await shell(stack, sleeper)
        await client.send(b"yes flood\r")
        # Read a little, then stop reading and acknowledging: a browser that fell behind.
        await client.expect(b"flood\r\nflood\r\n")
        before = {pid: rss_kb(pid) for pid in (bridge, web)}
        written = []
        for _ in range(4):
            written.append(stack.moor("e2e", "exec", sleeper, "sh", "-c",
                                      "cat /proc/$(pidof yes)/io").stdout)
            await asyncio.sleep(1)
        progress = [int(text.split("wchar: ")[1].split()[0]) for text in written]
        assert progress == sorted(progress) and progress[-1] - progress[0] > 1_000_000, progress
        after = {pid: rss_kb(pid) for pid in (bridge, web)}
        for pid in (bridge, web):
            assert after[pid] - before[pid] < 40_000, (before, after)
        # Interrupt it; the terminal is usable again (the page catches up, skipping what it
        # could not keep).
        mark = client.mark()
        await client.send(b"\x03")
        await client.expect(b"^C", after=mark, timeout=60)
        await client.expect(b"# \x1b[6n", after=mark, timeout=60)   # the prompt, answered
        mark = client.mark()
        await client.send(b"echo calm-$((1+1))\r")
        await client.expect(b"calm-2\r\n", after=mark, timeout=60)
        await client.close()
    run(scenario())


def test_attach_to_a_container_started_with_a_terminal(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "attached-" + secrets.token_hex(3),
        "cmd": ["sh"], "tty": True, "team": "default"})
    container = job["container"]
    try:
        async def scenario():
            client = await TerminalClient.open(stack.base, token(stack), container,
                                               mode="attach")
            assert client.session["mode"] == "attach"
            await client.send(b"\x1b[1;1R")
            await client.send(b"echo attached-$((6*7))\r")
            await client.expect(b"attached-42")
            await client.send(b"exit 5\r")
            assert await client.wait_exit() == 5
        run(scenario())
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_attach_needs_a_terminal(stack, sleeper):
    async def scenario():
        with pytest.raises(RuntimeError, match="started with a terminal"):
            await TerminalClient.open(stack.base, token(stack), sleeper, mode="attach")
    run(scenario())


def test_the_session_is_audited_and_recorded(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        await client.send(b"echo recorded-$((40+2))\r")
        # The prompt asks where the cursor is; the answer is sent as the query is read, so
        # wait for it: sent later it would land in the `read` below, ahead of the password.
        await client.expect(b"recorded-42\r\n/ # \x1b[6n")
        # A password at a prompt that does not echo it.
        mark = client.mark()
        await client.send(b"stty -echo; echo pass\"\"word:; read -r secret; stty echo; "
                          b"echo got-${#secret}\r")
        await client.expect(b"password:", after=mark)              # echo is off by now
        await client.send(b"hunter2-typed\r")
        await client.expect(b"got-13")
        await client.send(b"exit 0\r")
        await client.wait_exit()
        return client.session["id"]
    session = run(scenario())
    entries = stack.admin.ok("GET", f"/api/audit/?target={sleeper}")["results"]
    actions = {entry["action"]: entry for entry in entries}
    opened, closed = actions["container.terminal.open"], actions["container.terminal.close"]
    assert opened["actor"] == "admin" and opened["params"]["session"] == session
    assert closed["params"]["reason"] == "exited" and closed["params"]["exit_code"] == 0
    assert closed["params"]["duration"] > 0 and closed["params"]["user"] == ""
    request = urllib.request.Request(stack.base + f"/terminal-sessions/{session}/recording/",
                                     headers={"Cookie": f"sessionid={admin_session(stack)}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        header, *events = [json.loads(line) for line in response.read().decode().splitlines()]
    assert header["version"] == 2 and header["width"] == 80
    # Output arrives in whatever pieces the shell wrote it: read the events as one stream.
    output = "".join(text for _, code, text in events if code == "o")
    assert "recorded-42" in output
    # The echoed command line is recorded as output; what was typed is not (by default).
    assert "echo recorded-$((40+2))" in output
    assert not [event for event in events if event[1] == "i"]
    assert "hunter2-typed" not in json.dumps(events)


def admin_session(stack) -> str:
    """A browser login of the admin: the replay pages are pages, not API endpoints."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(stack.base + "/login/", timeout=10).read().decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    data = urllib.parse.urlencode({"username": "admin", "password": stack.admin_password,
                                   "csrfmiddlewaretoken": token}).encode()
    opener.open(urllib.request.Request(stack.base + "/login/", data=data,
                                       headers={"Referer": stack.base + "/login/"}), timeout=10)
    return next(cookie.value for cookie in jar if cookie.name == "sessionid")


def test_members_without_the_terminal_permission_are_refused(stack, sleeper):
    api = stack.admin
    name = "viewer" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    api.ok("POST", "/api/users/", {"username": name, "password": password})
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name, "role": "viewer"})
    from tests.stack import Api

    status, answer = Api(stack.base).post("/api/auth/token/", {"username": name,
                                                               "password": password})
    viewer_token = answer["token"]

    async def scenario():
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus) as refused:
            await TerminalClient.open(stack.base, viewer_token, sleeper)
        assert refused.value.response.status_code == 403
    run(scenario())


def test_a_container_on_a_second_host(stack):
    if "e2e3" not in stack.roots:
        stack.add_host("e2e3")
        stack.wait_host_online("e2e3")
        team = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                    if t["name"] == "default")
        stack.admin.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": "e2e3"})
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e3", "name": "far-" + secrets.token_hex(3),
        "cmd": ["sleep", "600"], "team": "default"})
    container = job["container"]
    try:
        async def scenario():
            client = await shell(stack, container)
            await client.send(b"hostname\r")
            await client.expect(container[:12].encode())
            await client.close()
        run(scenario())
        assert os.path.isdir(os.path.join(stack.roots["e2e3"], "containers", container))
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_the_session_of_a_dropped_socket_ends_when_its_container_goes(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "gone-" + secrets.token_hex(3),
        "cmd": ["sleep", "600"], "team": "default"})
    container = job["container"]

    async def scenario():
        client = await shell(stack, container)
        session = client.session["id"]
        stack.admin.ok("POST", f"/api/containers/{container}/kill/?wait=1")
        assert await client.wait_exit() == 137        # killed with its container
        return session
    session = run(scenario())
    wait_until(lambda: any(entry["action"] == "container.terminal.close" and
                           entry["params"].get("session") == session
                           for entry in stack.admin.ok(
                               "GET", f"/api/audit/?target={container}")["results"]),
               timeout=20, what="the close entry")
    stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_the_shell_outlives_restarts_of_the_worker_and_the_web_server(stack, sleeper):
    async def scenario():
        client = await shell(stack, sleeper)
        session = client.session["id"]
        pid = await client.shell_pid()
        stack.kill_worker("e2e")
        stack.start_worker("e2e")
        mark = client.mark()
        await client.send(b"echo after-worker\r")             # the same socket goes on
        await client.expect(b"after-worker\r\n", after=mark)
        argv = stack.processes["web"].args
        stack.end("web")                                       # daphne goes away
        try:
            while await client.read(5):
                pass                                           # until its socket closes
        finally:
            stack.spawn("web", argv)                           # the later tests need it
        wait_until(lambda: urllib.request.urlopen(stack.base + "/login/", timeout=2).status
                   == 200, what="daphne again")
        await resume_and_exit(stack.base, token(stack), sleeper, session, pid)
    run(scenario())
    stack.wait_host_online("e2e")
