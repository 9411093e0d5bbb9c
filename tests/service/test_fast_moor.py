"""`moor` through the engine service: with a service serving its root, the command line runs
there (a warm process, nothing to import) with the same output, errors and exit status as
in-process; every case below runs both ways and compares. Without a service, or for a
client the service refuses (another root, another namespace, not root), it runs
in-process as before."""

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios

import pytest

from tests.service.conftest import REPOSITORY
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

MOOR = os.path.join(REPOSITORY, "bin", "moor")
PYTHON = "/usr/bin/python3"         # what bin/moor runs on (-IS)


@pytest.fixture
def moor(service, engine):
    """moor(*args, path="service"|"in-process", ...) -> CompletedProcess (bytes)."""
    def run(*args, path="service", input=None, env=None, cwd=None, timeout=60):
        environment = {**os.environ, **(env or {})}
        environment.pop("MOORAGE_ROOT", None)
        if path == "in-process":
            environment["MOORAGE_NO_SERVICE"] = "1"
        else:
            environment.pop("MOORAGE_NO_SERVICE", None)
        return subprocess.run([MOOR, "--root", engine.paths.root, *args], input=input,
                              env=environment, cwd=cwd or REPOSITORY, capture_output=True,
                              timeout=timeout)
    return run


def both(moor, *args, **kwargs):
    """The same command line in-process and through the service: (in-process, service)."""
    return moor(*args, path="in-process", **kwargs), moor(*args, path="service", **kwargs)


def same(first, second):
    assert (second.returncode, second.stdout, second.stderr) == \
        (first.returncode, first.stdout, first.stderr)


TIMES = re.compile(rb"(Less than a second|About a minute|\d+ seconds?|\d+ minutes)")


def timeless(output: bytes) -> bytes:
    """A table with its times (which move on between two runs) and the column widths they
    set taken out."""
    return re.sub(rb" {2,}", b"  ", TIMES.sub(b"T", output))


def imported(*args, env=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run bin/moor under `python -X importtime`: its result and the modules it loaded."""
    result = subprocess.run([PYTHON, "-X", "importtime", "-IS", MOOR, *args],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **(env or {})})
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:")}
    return result, modules


ENGINE_MODULES = {"runtime.cli", "runtime.api", "argparse", "json", "socket", "subprocess",
                  "hashlib", "aiohttp"}


def test_the_client_imports_nothing_of_the_engine(service, engine):
    """Through the service, `moor` loads interpreter built-ins and its client module: the
    engine, argparse and the command line's modules stay unloaded (python -X importtime),
    for each verb it sends there."""
    root = ["--root", engine.paths.root]
    result, modules = imported(*root, "ps")
    assert result.returncode == 0 and result.stdout.startswith("CONTAINER ID")
    assert "runtime.service.client" in modules and not modules & ENGINE_MODULES
    without, in_process = imported(*root, "ps", env={"MOORAGE_NO_SERVICE": "1"})
    assert without.stdout == result.stdout and "runtime.cli" in in_process
    for args in (("run", "-d", "--name", "verbs", "busybox", "sleep", "300"),
                 ("exec", "verbs", "true"), ("logs", "verbs"), ("stop", "-t", "0", "verbs"),
                 ("start", "verbs"), ("rm", "-f", "verbs"),
                 ("run", "--rm", "busybox", "true")):
        result, modules = imported(*root, *args)
        assert result.returncode == 0, result.stderr
        assert not modules & ENGINE_MODULES, (args, modules & ENGINE_MODULES)


def test_run_attached_output_errors_and_status(moor):
    same(*both(moor, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"))
    same(*both(moor, "run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done",
               input=b"piped in\n"))
    same(*both(moor, "run", "--rm", "-e", "FROM_CLIENT", "busybox", "sh", "-c",
               "echo $FROM_CLIENT", env={"FROM_CLIENT": "the caller's"}))
    for args in (("run", "--rm", "no-such-image:9"), ("run", "--rm", "busybox", "no-such-cmd"),
                 ("run", "--rm", "--bad-flag", "busybox"), ("run", "--rm", "-m", "1k",
                                                             "busybox", "true")):
        first, second = both(moor, *args)
        same(first, second)
        assert first.returncode in (125, 127)


def test_detached_lifecycle_ps_logs_exec(moor, engine):
    created = moor("run", "-d", "--name", "served", "-l", "via=service", "busybox", "sh",
                   "-c", "echo hello; echo oops >&2; exec sleep 300")
    assert created.returncode == 0 and re.fullmatch(rb"[0-9a-f]{64}\n", created.stdout)
    moor("create", "--name", "made-in-process", "busybox", "true", path="in-process")
    wait_until(lambda: b"oops" in moor("logs", "served").stderr, what="the log")
    for args in (("ps",), ("ps", "-a"), ("ps", "-a", "--no-trunc"), ("ps", "-q"),
                 ("ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}} {{.Labels}}"),
                 ("ps", "-a", "--filter", "label=via=service", "--format", "json"),
                 ("ps", "--format", "table {{.ID}}\t{{.Command}}"),
                 ("logs", "served"), ("logs", "-t", "served"), ("logs", "--tail", "1",
                                                                "served"),
                 ("inspect", "-f", "{{.State.Status}} {{.Config.Labels}}", "served"),
                 ("exec", "served", "sh", "-c", "echo in $(hostname); exit 4"),
                 ("exec", "-e", "X=1", "-w", "/tmp", "served", "sh", "-c", "echo $X $PWD"),
                 ("top", "served"), ("logs", "nothing-here"), ("rm", "served"),
                 ("ps", "--filter", "bogus=1")):
        first, second = both(moor, *args)
        if args[0] == "ps":
            first.stdout, second.stdout = timeless(first.stdout), timeless(second.stdout)
        same(first, second)
    assert moor("stop", "-t", "1", "served").stdout == b"served\n"
    first, second = both(moor, "ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}")
    assert timeless(first.stdout) == timeless(second.stdout)
    assert moor("start", "served").returncode == 0
    assert moor("rm", "-f", "served", "made-in-process").stdout == \
        b"served\nmade-in-process\n"
    same(*both(moor, "ps", "-a"))       # empty: nothing moves


def test_ps_sees_what_any_path_did_at_once(moor, engine):
    """The service's view of containers is never behind the files, whoever changed them."""
    moor("run", "-d", "--name", "seen", "busybox", "sleep", "300", path="in-process")
    assert moor("ps", "--format", "{{.Names}} {{.State}}").stdout == b"seen running\n"
    moor("kill", "seen", path="in-process")
    assert moor("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == b"seen exited\n"
    engine.rename("seen", "renamed")
    assert moor("ps", "-a", "--format", "{{.Names}}").stdout == b"renamed\n"
    engine.remove("renamed")
    assert moor("ps", "-a", "-q").stdout == b""


def test_relative_paths_are_the_callers(moor, tmp_path):
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "file").write_text("relative\n")
    same(*both(moor, "run", "--rm", "-v", "./here:/mnt", "busybox", "cat", "/mnt/file",
               cwd=tmp_path))


def _in_a_terminal(moor_args, path, rows=33, cols=101, keys=b"", after=b"ready"):
    """Run moor on a new pseudo-terminal of the given size, type `keys` once `after` is
    shown; (status, everything shown)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    environment = {**os.environ, "TERM": "xterm"}
    if path == "in-process":
        environment["MOORAGE_NO_SERVICE"] = "1"
    process = subprocess.Popen([MOOR, *moor_args], stdin=slave, stdout=slave, stderr=slave,
                               env=environment, start_new_session=True)
    os.close(slave)
    shown = b""
    while True:
        if keys and after in shown:
            os.write(master, keys)
            keys = b""
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: the other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return process.wait(timeout=30), shown


def test_a_terminal_run_sees_the_callers_terminal(moor, engine):
    args = ["--root", engine.paths.root, "run", "--rm", "-it", "busybox", "sh", "-c",
            "tty; echo ready; read line; echo got $line; stty size; exit 5"]
    first = _in_a_terminal(args, "in-process", keys=b"typed\r")
    second = _in_a_terminal(args, "service", keys=b"typed\r")
    assert first == second
    assert first[0] == 5 and b"33 101" in first[1] and b"got typed" in first[1]
    moor("run", "-d", "--name", "shell", "busybox", "sleep", "300")
    args = ["--root", engine.paths.root, "exec", "-it", "shell", "sh", "-c",
            "tty; echo ready; read line; echo got $line; stty size; exit 6"]
    first = _in_a_terminal(args, "in-process", rows=20, cols=70, keys=b"more\r")
    second = _in_a_terminal(args, "service", rows=20, cols=70, keys=b"more\r")
    assert first == second
    assert first[0] == 6 and b"20 70" in first[1] and b"got more" in first[1]
    moor("rm", "-f", "shell")


def test_signals_reach_the_command(moor, engine):
    """Ctrl-C (SIGINT) at an attached run goes to the container (sig-proxy), both ways."""
    script = "trap 'echo caught; exit 7' INT; echo ready; while true; do sleep 0.1; done"
    results = []
    for path in ("in-process", "service"):
        environment = {**os.environ}
        if path == "in-process":
            environment["MOORAGE_NO_SERVICE"] = "1"
        process = subprocess.Popen([MOOR, "--root", engine.paths.root, "run", "--rm",
                                    "busybox", "sh", "-c", script], env=environment,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout.readline() == b"ready\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        results.append((process.wait(), out, err))
    assert results[0] == results[1] == (7, b"caught\n", b"")


def test_a_killed_client_takes_its_command_with_it(moor, engine):
    """kill -9 of `moor run` ends the command as it would end a `moor` process; the
    container, under its own monitor, goes on (and the run's --rm is done by the monitor's
    exit command)."""
    process = subprocess.Popen([MOOR, "--root", engine.paths.root, "run", "--name",
                                "orphan", "busybox", "sh", "-c", "echo up; sleep 300"],
                               stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"up\n"
    process.kill()
    process.wait()
    assert moor("ps", "--format", "{{.Names}} {{.State}}").stdout == b"orphan running\n"
    moor("rm", "-f", "orphan")


def test_without_the_service_or_when_refused_moor_runs_in_process(service, engine, moor):
    # Another root (no service): in-process, as ever.
    other = subprocess.run([MOOR, "--root", engine.paths.root + "-elsewhere", "ps"],
                           capture_output=True, timeout=60)
    assert other.returncode == 0 and other.stdout.startswith(b"CONTAINER ID")
    # Another mount namespace: the service refuses, the command runs in-process.
    inside = subprocess.run(["unshare", "--mount", "--propagation", "slave", MOOR, "--root",
                             engine.paths.root, "ps", "-a", "-q"], capture_output=True,
                            timeout=60)
    assert (inside.returncode, inside.stdout) == (0, moor("ps", "-a", "-q").stdout)
    # Not root: refused by the socket's mode, and in-process it fails as it always did.
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    results = [subprocess.run(as_nobody + [MOOR, "--root", engine.paths.root, "ps"],
                              capture_output=True, timeout=60,
                              env={**os.environ, **extra})
               for extra in ({}, {"MOORAGE_NO_SERVICE": "1"})]
    assert results[0].returncode == results[1].returncode != 0
    assert results[0].stderr == results[1].stderr
    subprocess.run(["rm", "-rf", engine.paths.root + "-elsewhere"])


def test_the_command_socket_is_roots_alone_and_one_per_root(service, service_root):
    """Mode 0600 for root; a second service of the same root serves the API on its socket
    and leaves moor's commands to the first one."""
    from runtime.api import Engine
    from runtime.service.server import command_socket_path
    from tests.service.conftest import RunningService
    path = command_socket_path(Engine(service_root))
    info = os.stat(path)
    assert (info.st_mode & 0o777, info.st_uid) == (0o600, 0)
    directory = os.path.dirname(service.socket_path)
    second = RunningService(service_root, os.path.join(directory, "second.sock"),
                            os.path.join(directory, "second.log")).start()
    try:
        assert "serves the API only" in second.log_tail()
        assert os.stat(path).st_ino == info.st_ino
    finally:
        second.stop()
    assert os.stat(path).st_ino == info.st_ino       # the first one's, still there
    result = subprocess.run([MOOR, "--root", service_root, "ps", "-q"], capture_output=True,
                            timeout=60)
    assert result.returncode == 0
