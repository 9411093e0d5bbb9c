"""Containers outlive their callers; what a crash leaves behind is found and removed.

- the `moor` process that started a container can die: the container keeps running and
  logging, conmon records its end and its exit command cleans up;
- `system gc` finds debris by name (mounts, cgroups, OCI runtime state, staging);
- `system boot` after a reboot starts the containers whose restart policy says so.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from runtime import atomic
from runtime.container import rootfs, state as records
from tests.stack import wait_until

pytestmark = [pytest.mark.privileged, pytest.mark.usefixtures("each_runtime")]


def test_the_container_outlives_a_killed_moor_run(engine):
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "run", "--name", "orphan", "busybox", "sh", "-c",
         "i=0; while [ $i -lt 30 ]; do echo $i; i=$((i+1)); sleep 0.1; done; exit 7"],
        env={"MOORAGE_ROOT": engine.paths.root, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: os.path.exists(os.path.join(
        engine.paths.containers)) and any(
        c.name == "orphan" and c.state["Status"] == "running"
        for c in records.all_containers(engine)),
        timeout=15, interval=0.05, what="the orphan container to run")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert engine.inspect("orphan")["State"]["Status"] == "running"
    assert engine.wait("orphan") == 7
    lines = [r.data for r in engine.logs("orphan")]
    assert lines[0] == b"0\n" and lines[-1] == b"29\n" and len(lines) == 30


def test_the_exit_command_cleans_up_without_anyone_asking(engine, leftovers):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "sleep 0.2"]})
    engine.wait(container_id)
    container = engine.container(container_id)
    wait_until(lambda: records.Container.load(container.dir).state.get("CleanedUp"),
               timeout=15, interval=0.05, what="the exit command's clean-up")
    assert not rootfs.is_mounted(container.path("merged"))
    assert leftovers() == []
    assert engine.inspect(container_id)["State"]["Status"] == "exited"


def test_a_killed_monitor_is_noticed(engine, leftovers):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    state = engine.inspect(container_id)["State"]
    monitor_pid = records.find(engine, container_id).state["MonitorPid"]
    # Kill the program and its monitor together, as an OOM kill of the host might.
    os.kill(state["Pid"], signal.SIGKILL)
    os.kill(monitor_pid, signal.SIGKILL)
    wait_until(lambda: engine.inspect(container_id)["State"]["Status"] in ("exited", "dead"),
               timeout=15, interval=0.05, what="the killed container to be recorded ended")
    found = subprocess.run([sys.executable, "-m", "runtime", "system", "gc"],
                           env={"MOORAGE_ROOT": engine.paths.root, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True).stdout
    assert container_id[:12] in found
    assert leftovers() == []


def test_gc_removes_debris_by_name(engine, moor, leftovers):
    # Debris of a crash: an overlay mount of a removed container's staging, a cgroup of a
    # container this root no longer knows, OCI runtime state of one, a half-removed container.
    ghost = "e" * 64
    parent = engine.paths.cgroup_parent
    made = []
    for controller in ("memory", "pids"):
        path = f"/sys/fs/cgroup/{controller}/{parent}/{ghost}"
        os.makedirs(path, exist_ok=True)
        made.append(path)
    stage = os.path.join(engine.paths.tmp, "removing-" + ghost)
    os.makedirs(os.path.join(stage, "merged"))
    subprocess.run(["mount", "-t", "tmpfs", "debris", os.path.join(stage, "merged")],
                   check=True)
    half = engine.create({"image": "busybox", "cmd": ["true"]})
    record = records.find(engine, half)
    record.state["Status"] = "removing"
    record.save_state()
    try:
        dry = moor("system", "gc", "--dry-run").stdout
        assert ghost[:12] in dry or ghost in dry
        assert all(os.path.exists(p) for p in made)
        found = moor("system", "gc").stdout
        for path in made:
            assert path in found
            assert not os.path.exists(path)
        assert not os.path.exists(stage)
        assert half[:12] in found
        assert leftovers() == []
    finally:
        subprocess.run(["umount", os.path.join(stage, "merged")], capture_output=True)
        subprocess.run(["rm", "-rf", stage])
        for path in made:
            if os.path.exists(path):
                os.rmdir(path)


def test_boot_after_a_reboot_starts_containers_by_restart_policy(engine, moor):
    always = engine.run({"image": "busybox", "cmd": ["sleep", "300"], "restart": "always",
                         "name": "boot-always"})
    unless = engine.run({"image": "busybox", "cmd": ["sleep", "300"],
                         "restart": "unless-stopped", "name": "boot-unless"})
    manual = engine.run({"image": "busybox", "cmd": ["sleep", "300"],
                         "restart": "unless-stopped", "name": "boot-manual"})
    never = engine.run({"image": "busybox", "cmd": ["sleep", "300"], "name": "boot-never"})
    engine.stop(manual, timeout=0)
    # A reboot: every program is gone, and the machine has a new boot ID.
    for container_id in (always, unless, never):
        record = records.find(engine, container_id)
        os.kill(record.state["MonitorPid"], signal.SIGKILL)
        os.kill(record.state["Pid"], signal.SIGKILL)
    for container_id in (always, unless, never, manual):
        record = records.find(engine, container_id)
        record.state["BootId"] = "before-the-reboot"
        record.save_state()
    atomic.write_json(os.path.join(engine.paths.root, "boot_id"),
                      {"boot_id": "before-the-reboot"})
    time.sleep(0.2)
    report = moor("system", "boot")
    assert report.returncode == 0, report.stderr
    status = {name: engine.inspect(name)["State"]["Status"]
              for name in ("boot-always", "boot-unless", "boot-manual", "boot-never")}
    assert status == {"boot-always": "running", "boot-unless": "running",
                      "boot-manual": "exited", "boot-never": status["boot-never"]}
    assert status["boot-never"] in ("exited", "dead")
    for container_id in (always, unless):
        engine.remove(container_id, force=True)


def test_reset_removes_a_root_and_gc_sweeps_a_deleted_ones_state(moor, tmp_path):
    from runtime.api import Engine
    doomed = Engine(str(tmp_path / "doomed"))
    doomed.bootstrap_busybox()
    doomed.run({"image": "busybox", "cmd": ["sleep", "300"]})
    run_dir = doomed.paths.run
    cgroup = f"/sys/fs/cgroup/memory/{doomed.paths.cgroup_parent}"
    assert os.path.isdir(run_dir) and os.path.isdir(cgroup)
    doomed.reset()
    assert not os.path.exists(doomed.paths.root)
    assert not os.path.exists(run_dir) and not os.path.exists(cgroup)

    # A root deleted behind the engine's back: any root's gc finds its state by its marker.
    deleted = Engine(str(tmp_path / "deleted"))
    deleted.paths.ensure()
    os.makedirs(deleted.paths.oci_state("crun"), exist_ok=True)
    subprocess.run(["rm", "-rf", deleted.paths.root], check=True)
    found = moor("system", "gc").stdout
    assert f"state of deleted root {deleted.paths.root}" in found
    assert not os.path.exists(deleted.paths.run)


def test_rm_returns_at_once_and_a_detached_process_finishes_the_job(engine, moor, leftovers):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    result = moor("rm", "-f", container_id)
    assert result.returncode == 0, result.stderr
    # Gone for every reader as soon as rm returns ...
    assert moor("ps", "-a", "-q").stdout == ""
    assert moor("inspect", container_id).returncode == 1
    # ... and its runtime state, network and files follow right after.
    assert leftovers() == []
    assert not os.path.exists(os.path.join(engine.paths.tmp, f"removing-{container_id}"))


def test_gc_leaves_work_in_progress_alone(engine, moor):
    import fcntl

    from runtime import staging
    # A container in the middle of its start: it holds its lock, and its runtime state and
    # cgroups exist before it is recorded as running.
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    record = records.find(engine, container_id)
    record.state["Status"] = "created"
    record.save_state()
    lock = os.open(record.lock_path(), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    # A pull or a build at work: a locked directory under tmp/, old, with a mount in it.
    with staging.working_dir(engine.paths.tmp, "pull-") as work:
        os.makedirs(os.path.join(work, "mnt"))
        subprocess.run(["mount", "-t", "tmpfs", "work", os.path.join(work, "mnt")], check=True)
        try:
            os.utime(work, (0, 0))
            found = moor("system", "gc").stdout
            assert container_id[:12] not in found and work not in found
            assert os.path.isdir(os.path.join(work, "mnt"))
            assert rootfs.is_mounted(os.path.join(work, "mnt"))
            assert os.path.isdir(f"/sys/fs/cgroup/pids/{engine.paths.cgroup_parent}/"
                                 f"{container_id}")
        finally:
            subprocess.run(["umount", os.path.join(work, "mnt")], check=True)
    os.close(lock)
    record = records.find(engine, container_id)
    record.state["Status"] = "running"
    record.save_state()
    assert engine.inspect(container_id)["State"]["Running"]
    engine.remove(container_id, force=True)


def test_the_container_outlives_the_cgroup_of_whoever_started_it(engine):
    """A service manager stopping a worker kills every process in the worker's cgroup; the
    monitor moved itself out of it before it started the container."""
    launcher_cgroup = f"/sys/fs/cgroup/pids/moorage-test-launcher-{os.getpid()}"
    os.makedirs(launcher_cgroup)
    script = ("import os, sys; "
              f"open('{launcher_cgroup}/cgroup.procs', 'w').write(str(os.getpid())); "
              "from runtime.api import Engine; "
              f"print(Engine({engine.paths.root!r}).run("
              "{'image': 'busybox', 'cmd': ['sleep', '300']}))")
    try:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
                                timeout=60, check=True)
        container_id = result.stdout.strip().splitlines()[-1]
        with open(f"{launcher_cgroup}/cgroup.procs") as f:
            left = [int(pid) for pid in f.read().split()]
        for pid in left:  # what a service stop does to the worker's cgroup
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        assert engine.inspect(container_id)["State"]["Running"] is True
        monitor = records.find(engine, container_id).state["MonitorPid"]
        with open(f"/proc/{monitor}/cgroup") as f:
            assert f"{engine.paths.cgroup_parent}/monitors" in f.read()
        engine.remove(container_id, force=True)
    finally:
        time.sleep(0.1)
        os.rmdir(launcher_cgroup)
