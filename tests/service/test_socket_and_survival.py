"""The socket is root's alone; containers never depend on the service: killing it (even with
SIGKILL) leaves them running with their logs, a restarted service finds them again, and the
`moor` command line works without it."""

import os
import signal
import stat
import subprocess
import sys
import tempfile

import pytest

from tests.service.conftest import DOCKER, REPOSITORY, RunningService
from tests.stack import wait_until

pytestmark = pytest.mark.privileged


def test_socket_is_root_only(service):
    info = os.stat(service.socket_path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660 and (info.st_uid, info.st_gid) == (0, 0)
    assert as_nobody(service.socket_path) == "EACCES"


PROBE = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
         "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('EACCES')\n"
         "else:\n    print('connected')\n")


def as_nobody(socket_path: str, *groups: str) -> str:
    """Connect to the socket as the user nobody (with `groups`); what happened."""
    identity = ["--reuid=65534", "--regid=65534"] + (
        [f"--groups={','.join(groups)}"] if groups else ["--clear-groups"])
    result = subprocess.run(["setpriv", *identity, sys.executable, "-c", PROBE, socket_path],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.strip() or result.stderr


def test_group_option_opens_it_to_that_group(service_root):
    directory = tempfile.mkdtemp(prefix="moorage-group-")
    os.chmod(directory, 0o755)
    running = RunningService(service_root, os.path.join(directory, "grouped.sock"),
                             os.path.join(directory, "log"), group="nogroup").start()
    try:
        info = os.stat(running.socket_path)
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o660, 0, 65534)
        assert as_nobody(running.socket_path, "65534") == "connected"
    finally:
        running.stop()
        subprocess.run(["rm", "-rf", directory])


def test_a_second_service_on_a_live_socket_is_refused(service, service_root):
    result = subprocess.run([os.path.join(REPOSITORY, "bin", "moor"), "--root", service_root,
                             "system", "service", "--socket", service.socket_path],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "another engine service is listening" in result.stderr


def test_containers_outlive_a_killed_service(service_root, engine):
    directory = tempfile.mkdtemp(prefix="moorage-survival-")
    first = RunningService(service_root, os.path.join(directory, "docker.sock"),
                           os.path.join(directory, "log")).start()
    env = {**os.environ, "DOCKER_HOST": first.url}

    def docker(*args, check=True):
        return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                              timeout=60, check=check)
    try:
        docker("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
               "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done")
        wait_until(lambda: "line 3" in docker("logs", "survivor").stdout, what="output")
        first.stop(signal.SIGKILL)
        # Without the service: the container goes on writing its log, moor sees it.
        lines = len(list(engine.logs("survivor")))
        wait_until(lambda: len(list(engine.logs("survivor"))) > lines + 5,
                   what="the log to grow without the service")
        moor = subprocess.run([os.path.join(REPOSITORY, "bin", "moor"), "--root",
                               engine.paths.root, "ps", "--format", "{{.Names}} {{.State}}"],
                              capture_output=True, text=True, timeout=30)
        assert moor.stdout.strip() == "survivor running"
        second = RunningService(service_root, first.socket_path,
                                os.path.join(directory, "log2")).start()
        try:
            assert docker("inspect", "-f", "{{.State.Running}}", "survivor").stdout.strip() \
                == "true"
            logs = docker("logs", "survivor").stdout.splitlines()
            numbers = [int(line.split()[1]) for line in logs]
            assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > lines
            docker("rm", "-f", "survivor")
        finally:
            second.stop()
    finally:
        first.stop(signal.SIGKILL)
        subprocess.run(["rm", "-rf", directory])
