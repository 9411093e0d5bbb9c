"""Fixtures for the engine's tests: a private engine root with the busybox image, the moor
command line, and a check that a test left nothing behind on the host.

These tests need root: they make real containers with conmon and crun/runc, overlay mounts
and cgroups. Everything a test makes is removed after it, even when it fails.
"""

import contextlib
import os
import subprocess
import sys
import tempfile

import pytest

from runtime.api import Engine
from runtime.container import removal, state as records
from runtime.container.oci import find_binary
from tests.stack import wait_until

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIMES = [name for name in ("crun", "runc") if find_binary(name)]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="the engine's tests need root")
        for item in items:
            if "privileged" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def engine_root():
    root = tempfile.mkdtemp(prefix="moorage-test-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield root
    destroy_root(engine)


def destroy_root(engine: Engine) -> None:
    """Remove every trace of an engine root from the host."""
    engine.reset()
    assert not os.path.exists(engine.paths.run)
    assert not _cgroup_parents(engine)


def _cgroup_parents(engine: Engine) -> list[str]:
    found = []
    base = "/sys/fs/cgroup"
    for entry in os.listdir(base):
        path = os.path.join(base, entry, engine.paths.cgroup_parent)
        if os.path.isdir(path):
            found.append(path)
    if os.path.isdir(os.path.join(base, engine.paths.cgroup_parent)):
        found.append(os.path.join(base, engine.paths.cgroup_parent))
    return found


@pytest.fixture
def engine(engine_root):
    """The session's engine; every container a test makes is removed after it, and the
    test fails if its containers left host resources behind."""
    engine = Engine(engine_root)
    before = {c.id for c in records.all_containers(engine)}
    yield engine
    for container in records.all_containers(engine):
        if container.id not in before:
            with contextlib.suppress(Exception):
                removal.remove(engine, container, force=True, volumes=True)
    remaining = leftovers(engine)
    assert not remaining, f"left behind: {remaining}"


@pytest.fixture(params=RUNTIMES)
def runtime_name(request):
    return request.param


@pytest.fixture(params=RUNTIMES)
def each_runtime(request, monkeypatch):
    """The whole test under each OCI runtime in turn: the default for containers made in this
    process and by the `moor` commands it runs (`usefixtures` it in a module)."""
    monkeypatch.setenv("MOORAGE_RUNTIME", request.param)
    return request.param


def leftovers(engine: Engine) -> list[str]:
    """Host resources of this root that no existing container accounts for (after waiting
    for `moor rm`'s detached clean-ups to finish)."""
    with contextlib.suppress(TimeoutError):   # what is still there is reported below
        wait_until(lambda: not any(entry.startswith("removing-")
                                   for entry in os.listdir(engine.paths.tmp)),
                   timeout=20, interval=0.05, what="detached clean-ups")
    known = {c.id for c in records.all_containers(engine)}
    running = set()
    for container in records.all_containers(engine):
        container.refresh()
        if container.status in ("running", "paused", "restarting"):
            running.add(container.id)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split(" ")[4]
            if target.startswith(engine.paths.root + "/"):
                parts = target[len(engine.paths.containers) + 1:].split("/")
                if not (target.startswith(engine.paths.containers) and parts[0] in running):
                    found.append(f"mount {target}")
    from runtime.container import groups
    for parent in _cgroup_parents(engine):
        for entry in os.listdir(parent):
            if entry == "monitors":  # the engine's own, for the conmons; lives with the root
                continue
            path = os.path.join(parent, entry)
            if not os.path.isdir(path):
                continue
            if len(entry) != 64 and groups.is_defined(engine.paths, entry):
                # A group's cgroup stays while the group is defined; its containers' go.
                found.extend(f"cgroup {path}/{child}" for child in os.listdir(path)
                             if os.path.isdir(os.path.join(path, child)) and
                             child not in running)
            elif entry not in running:
                found.append(f"cgroup {parent}/{entry}")
    for name in RUNTIMES:
        state = engine.paths.oci_state(name)
        if os.path.isdir(state):
            for entry in os.listdir(state):
                if entry not in running:
                    found.append(f"{name} state {entry}")
    for entry in os.listdir(engine.paths.containers):
        if entry not in known:
            found.append(f"container dir {entry}")
    for entry in os.listdir(engine.paths.tmp):
        found.append(f"tmp {entry}")
    if os.path.isdir(engine.paths.netns):
        for entry in os.listdir(engine.paths.netns):
            if entry not in running:
                found.append(f"netns {entry}")
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for container_id in known - running:
        if f"mrg{container_id[:12]}" in links:
            found.append(f"veth mrg{container_id[:12]}")
    return found


@pytest.fixture(name="leftovers")
def leftovers_fixture(engine):
    """`leftovers()`: what of this root is left on the host (see `leftovers`)."""
    return lambda: leftovers(engine)


@pytest.fixture
def moor(engine):
    """Run the `moor` command line against the test root."""
    def run(*args, input=None, timeout=60, check=False, text=True):
        result = subprocess.run(
            [sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
            env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
            input=input, capture_output=True, text=text, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"moor {' '.join(args)} failed ({result.returncode}): "
                                 f"{result.stderr}")
        return result
    return run


@pytest.fixture
def run_and_wait(engine):
    """Run a busybox container to its end; return (its ID, its exit code)."""
    def run(cmd: list[str], **options) -> tuple[str, int]:
        container_id = engine.run({"image": "busybox", "cmd": cmd, **options})
        return container_id, engine.wait(container_id)
    return run


@pytest.fixture
def output_of(engine):
    """Everything a container wrote, stdout and stderr in order, as text."""
    def output(container_id: str) -> str:
        return "".join(r.data.decode() for r in engine.logs(container_id))
    return output
