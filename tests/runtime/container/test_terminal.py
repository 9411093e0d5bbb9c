"""Interactive use through a real pseudo-terminal: `run -it`, detach keys and `attach`,
`exec` with and without a tty, `start -ai`."""

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.privileged, pytest.mark.usefixtures("each_runtime")]


class Terminal:
    """`moor` running on a pty we own, as a person at a terminal would run it."""

    def __init__(self, engine, *args, rows=24, cols=80):
        import fcntl
        import struct
        import termios
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime", *args], stdin=slave, stdout=slave, stderr=slave,
            env={"MOORAGE_ROOT": engine.paths.root, "PATH": "/usr/bin:/bin", "TERM": "xterm",
                 "MOORAGE_RUNTIME": os.environ.get("MOORAGE_RUNTIME", "")},
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.seen = b""

    def send(self, data: bytes):
        os.write(self.master, data)

    def expect(self, needle: bytes, timeout=15) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {needle!r} in {self.seen[-400:]!r}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {needle!r}: {self.seen!r}")
                self.seen += chunk
        return self.seen

    def expect_size(self, rows, cols, timeout=15):
        """Ask `stty size` until the new size has reached the container's terminal: the
        SIGWINCH travels through moor and the monitor, which takes a moment under load."""
        def asked():
            self.send(b"stty size\r")
            return self.expect(f"{rows} {cols}".encode(), timeout=1)
        return wait_until(asked, timeout=timeout, interval=0, what=f"size {rows} {cols}")

    def resize(self, rows, cols):
        import fcntl
        import struct
        import termios
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.killpg(self.process.pid, 28)  # SIGWINCH, as the terminal emulator would

    def wait(self, timeout=20) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            os.close(self.master)


def test_run_it_gives_a_working_shell(engine):
    term = Terminal(engine, "run", "-it", "--name", "shell", "busybox", "sh", rows=33, cols=101)
    term.expect(b"# ")
    term.send(b"echo hi; hostname\r")
    term.expect(b"hi\r\n")
    term.send(b"stty size\r")
    term.expect(b"33 101")
    # The child prints once it is the terminal's foreground job: Ctrl-C then reaches it.
    term.send(b"sh -c 'echo sleep-st\"\"arted; exec sleep 100'\r")
    term.expect(b"sleep-started")
    term.send(b"\x03")  # Ctrl-C reaches the container's foreground program
    term.send(b"echo inter\"\"rupted\r")
    term.expect(b"interrupted\r\n")
    term.resize(40, 120)
    term.expect_size(40, 120)
    term.send(b"exit 3\r")
    assert term.wait() == 3
    assert engine.inspect("shell")["State"]["Status"] == "exited"


def test_detach_keys_leave_it_running_and_attach_gets_back_in(engine):
    term = Terminal(engine, "run", "-it", "--name", "detachable", "busybox", "sh")
    term.expect(b"# ")
    term.send(b"\x10\x11")  # Ctrl-P Ctrl-Q
    assert term.wait() == 0
    assert engine.inspect("detachable")["State"]["Status"] == "running"
    again = Terminal(engine, "attach", "detachable")
    time.sleep(0.5)
    again.send(b"echo back-\"\"in\r")
    again.expect(b"back-in\r\n")
    again.send(b"exit 4\r")
    assert again.wait() == 4


def test_start_ai_gets_back_into_an_exited_shell(engine):
    term = Terminal(engine, "run", "-it", "--name", "restartable", "busybox", "sh")
    term.expect(b"# ")
    term.send(b"exit\r")
    assert term.wait() == 0
    again = Terminal(engine, "start", "-ai", "restartable")
    again.expect(b"# ")
    again.send(b"echo second-\"\"life\r")
    again.expect(b"second-life\r\n")
    again.send(b"exit 6\r")
    assert again.wait() == 6


def test_exec_with_a_tty(engine):
    engine.run({"image": "busybox", "cmd": ["sleep", "100"], "name": "host-of-exec"})
    term = Terminal(engine, "exec", "-it", "host-of-exec", "sh", rows=20, cols=70)
    term.expect(b"# ")
    term.send(b"tty; stty size\r")
    term.expect(b"20 70")
    assert b"/dev/pts/" in term.seen
    term.send(b"exit 2\r")
    assert term.wait() == 2
    engine.remove("host-of-exec", force=True)


def test_exec_follows_the_window_size(engine):
    engine.run({"image": "busybox", "cmd": ["sleep", "100"], "name": "resized"})
    term = Terminal(engine, "exec", "-it", "resized", "sh", rows=30, cols=100)
    term.expect(b"# ")
    term.send(b"stty size\r")
    term.expect(b"30 100")
    term.resize(40, 120)
    term.expect_size(40, 120)
    term.send(b"exit 3\r")
    assert term.wait() == 3
    engine.remove("resized", force=True)


def test_exec_without_a_tty(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"],
                               "env": ["FROM_RUN=yes"]})
    result = moor("exec", "-e", "FROM_EXEC=too", "-w", "/etc", "-u", "nobody", container_id,
                  "sh", "-c", "echo $FROM_RUN $FROM_EXEC; pwd; id -un; exit 5")
    assert result.returncode == 5
    assert result.stdout.split() == ["yes", "too", "/etc", "nobody"]
    piped = moor("exec", "-i", container_id, "cat", input="through stdin\n")
    assert piped.stdout == "through stdin\n"
    missing = moor("exec", container_id, "nosuchprogram")
    assert missing.returncode == 127
    engine.remove(container_id, force=True)


def test_exec_in_a_stopped_container_is_refused(engine, moor):
    container_id = engine.create({"image": "busybox", "cmd": ["true"]})
    result = moor("exec", container_id, "true")
    assert result.returncode == 1
    assert "is not running" in result.stderr


def test_run_it_without_a_terminal_is_refused(moor):
    result = moor("run", "-it", "busybox", "sh")
    assert result.returncode == 1
    assert "not a TTY" in result.stderr
