"""Exec sessions under their own conmon (runtime/container/sessions.py): a shell on a terminal
of the asked size, found in the container; output from the first byte; the session outlives
the process that opened it and is attached again with its recent output; hang-up ends it and
what it ran; files and links are removed after."""
import os
import secrets
import subprocess
import sys
import time

import pytest

from runtime.container import sessions
from runtime.errors import Conflict, InvalidArgument
from tests.stack import wait_until

pytestmark = pytest.mark.privileged
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def read_until(sock, needle: bytes, timeout=10.0, seen=b"") -> bytes:
    """Read the attach socket (stream byte + data) until `needle` shows."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"did not see {needle!r} in {seen[-300:]!r}")
        try:
            message = sock.recv(8193)
        except TimeoutError:
            continue
        if not message:
            raise AssertionError(f"EOF before {needle!r}: {seen[-300:]!r}")
        seen += message[1:]
    return seen


def answer_cursor_query(sock):
    """busybox's shell asks where the cursor is (ESC [6n) and waits; a terminal answers."""
    sock.send(b"\x1b[1;1R")


@pytest.fixture
def sleeper(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    yield engine.container(container_id)
    engine.remove(container_id, force=True)


def test_a_shell_session_on_a_terminal_of_the_asked_size(engine, sleeper):
    session, sock = sessions.start(engine, sleeper, secrets.token_hex(16), rows=33, cols=101)
    try:
        assert session.info["Args"] == ["/bin/ash"]          # busybox has no bash
        seen = read_until(sock, b"\x1b[6n")
        assert b"BusyBox" in seen                             # from the very first byte
        answer_cursor_query(sock)
        sock.send(b"stty size; echo $TERM; tty\r")
        seen = read_until(sock, b"/dev/pts/", seen=seen)
        assert b"33 101" in seen and b"xterm-256color" in seen
        session.resize(40, 120)
        sock.send(b"stty size\r")
        read_until(sock, b"40 120", seen=seen)
        sock.send(b"exit 3\r")
        read_until(sock, b"exit 3")
        wait_until(lambda: session.exit_code() is not None, timeout=5, interval=0.02,
                   what="the session's exit code")
        assert session.exit_code() == 3 and not session.running()
    finally:
        sock.close()
    session.remove(engine)
    assert sessions.ExecSession.all(sleeper) == []
    assert session.id not in os.listdir(sessions.socket_dir(engine))


def test_a_session_outlives_its_opener_and_is_attached_again(engine, sleeper):
    session_id = secrets.token_hex(16)
    opener = (
        "import sys; from runtime.api import Engine; from runtime.container import sessions\n"
        f"engine = Engine({engine.paths.root!r}); c = engine.container({sleeper.id!r})\n"
        f"s, sock = sessions.start(engine, c, {session_id!r}, cmd=['sh', '-c', "
        "'echo started; while true; do sleep 0.1; echo tick; done'])\n"
        "sys.stdout.write(str(s.pid))\n")
    result = subprocess.run([sys.executable, "-c", opener], cwd=REPOSITORY, timeout=30,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    session = sessions.ExecSession.load(sleeper, session_id)
    assert session.running() and session.pid == int(result.stdout)
    sock = session.attach()
    try:
        read_until(sock, b"tick\r\n")
        assert b"started" in session.recent_output()
    finally:
        sock.close()
    session.terminate()
    wait_until(lambda: not session.running(), timeout=5, interval=0.02,
               what="the session to end")
    assert session.exit_code() == 129                    # hung up, as a closed terminal
    session.remove(engine)


def test_hang_up_ends_what_the_shell_runs_too(engine, sleeper):
    session, sock = sessions.start(engine, sleeper, secrets.token_hex(16))
    try:
        read_until(sock, b"\x1b[6n")
        answer_cursor_query(sock)
        sock.send(b"trap '' HUP; sleep 1000 & sleep 2000\r")
        wait_until(lambda: len(session.members()) >= 3, timeout=5, interval=0.02,
                   what="the shell and its two sleeps")
        members = session.members()
        assert len(members) >= 3                          # the shell and its two sleeps
        session.terminate(grace=0.5)
        assert all(not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split()[2] == "Z" for pid in members)
    finally:
        sock.close()
    wait_until(lambda: not session.running(), timeout=5, interval=0.02,
               what="the session to end")
    session.remove(engine)


def test_a_command_as_another_user(engine, sleeper):
    session, sock = sessions.start(engine, sleeper, secrets.token_hex(16),
                                   cmd=["sh", "-c", "id -un; exit 4"], user="nobody")
    try:
        read_until(sock, b"nobody")
    finally:
        sock.close()
    wait_until(lambda: session.exit_code() is not None, timeout=5, interval=0.02,
               what="the session's exit code")
    assert session.exit_code() == 4
    session.remove(engine)


def test_refusals_leave_nothing_behind(engine, sleeper):
    with pytest.raises(InvalidArgument, match="16 to 64 lowercase hex"):
        sessions.start(engine, sleeper, "../../etc")
    with pytest.raises(InvalidArgument, match="1 to 1000 rows"):
        sessions.start(engine, sleeper, secrets.token_hex(16), rows=0)
    with pytest.raises(Exception, match="not found|no such file"):
        sessions.start(engine, sleeper, secrets.token_hex(16), cmd=["nosuchprogram"])
    with pytest.raises(Exception, match="no matching entries|unknown user|no such user"):
        sessions.start(engine, sleeper, secrets.token_hex(16), user="nosuchuser")
    assert sessions.ExecSession.all(sleeper) == []
    stopped = engine.container(engine.create({"image": "busybox", "cmd": ["true"]}))
    with pytest.raises(Conflict, match="not running"):
        sessions.start(engine, stopped, secrets.token_hex(16))
    engine.remove(stopped.id)


def test_the_sessions_of_a_removed_container_go_with_it(engine):
    container = engine.container(engine.run({"image": "busybox", "cmd": ["sleep", "300"]}))
    session, sock = sessions.start(engine, container, secrets.token_hex(16))
    sock.close()
    engine.remove(container.id, force=True)
    assert not os.path.exists(session.dir)
    assert session.id in sessions.sweep_links(engine)
