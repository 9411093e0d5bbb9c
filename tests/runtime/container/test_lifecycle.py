"""Container lifecycle through the engine API and `moor`: run, create/start, stop, kill,
restart, rm, wait, names and prefixes, restart policies, --rm, and bad input."""

import os
import time

import pytest

from runtime.container import lifecycle
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from tests.stack import wait_until

pytestmark = pytest.mark.privileged


def test_run_reports_the_programs_exit_code(engine, runtime_name, run_and_wait, output_of):
    container_id, code = run_and_wait(["sh", "-c", "echo out; exit 3"],
                                      runtime=runtime_name)
    assert code == 3
    assert output_of(container_id) == "out\n"
    inspected = engine.inspect(container_id)
    assert inspected["State"]["Status"] == "exited"
    assert inspected["State"]["ExitCode"] == 3
    assert inspected["HostConfig"]["Runtime"] == runtime_name


def test_killed_program_exits_with_128_plus_signal(engine, runtime_name):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"],
                               "runtime": runtime_name})
    engine.kill(container_id, "KILL")
    assert engine.wait(container_id) == 137
    engine.remove(container_id)


def test_stop_sends_sigterm_then_sigkill_after_the_timeout(engine):
    # PID 1 without a handler ignores SIGTERM: stop must fall back to SIGKILL.
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"]})
    started = time.monotonic()
    engine.stop(container_id, timeout=1)
    assert 0.9 < time.monotonic() - started < 8
    assert engine.inspect(container_id)["State"]["ExitCode"] == 137


def test_stop_of_a_program_that_handles_sigterm_is_quick(engine, output_of):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c",
        "trap 'echo bye; exit 0' TERM; echo trapped; while true; do sleep 0.1; done"]})
    wait_until(lambda: "trapped" in output_of(container_id), timeout=15, interval=0.05,
               what="the trap set before the stop")
    started = time.monotonic()
    engine.stop(container_id, timeout=10)
    assert time.monotonic() - started < 5
    state = engine.inspect(container_id)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0
    assert "bye" in output_of(container_id)


def test_create_then_start(engine, moor, output_of):
    created = moor("create", "--name", "later", "busybox", "sh", "-c", "echo started")
    assert created.returncode == 0, created.stderr
    container_id = created.stdout.strip()
    assert len(container_id) == 64
    assert engine.inspect("later")["State"]["Status"] == "created"
    assert moor("start", "later").stdout == "later\n"
    assert engine.wait("later") == 0
    assert output_of("later") == "started\n"


def test_containers_are_found_by_id_prefix_and_name(engine):
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "findme"})
    assert engine.container(container_id).id == container_id
    assert engine.container(container_id[:8]).id == container_id
    assert engine.container("findme").id == container_id
    assert engine.container("/findme").id == container_id
    with pytest.raises(NotFound):
        engine.container("nosuchname")


def test_ambiguous_prefix_is_refused(engine):
    ids = [engine.create({"image": "busybox", "cmd": ["true"], "id": prefix * 64})
           for prefix in ("a", "b")]
    ids.append(engine.create({"image": "busybox", "cmd": ["true"], "id": "a" * 63 + "b"}))
    with pytest.raises(Conflict):
        engine.container("aaaa")


def test_name_conflict_is_refused_and_leaves_nothing(engine):
    engine.create({"image": "busybox", "cmd": ["true"], "name": "taken"})
    count = len(os.listdir(engine.paths.containers))
    with pytest.raises(Conflict, match="already in use"):
        engine.create({"image": "busybox", "cmd": ["true"], "name": "taken"})
    assert len(os.listdir(engine.paths.containers)) == count


def test_restart(engine):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done"]})
    first_pid = engine.inspect(container_id)["State"]["Pid"]
    engine.restart(container_id, timeout=5)
    state = engine.inspect(container_id)["State"]
    assert state["Status"] == "running"
    assert state["Pid"] != first_pid
    engine.remove(container_id, force=True)


def test_rm_refuses_a_running_container_unless_forced(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"]})
    with pytest.raises(Conflict, match="running container"):
        engine.remove(container_id)
    engine.remove(container_id, force=True)
    with pytest.raises(NotFound):
        engine.container(container_id)


def test_batch_removal_of_everything(engine, moor):
    for index in range(3):
        engine.run({"image": "busybox", "cmd": ["sleep", "100"], "name": f"batch{index}"})
    engine.create({"image": "busybox", "cmd": ["true"], "name": "batch-created"})
    ids = moor("ps", "-a", "-q").stdout.split()
    assert len(ids) >= 4
    removed = moor("rm", "-f", *ids)
    assert removed.returncode == 0, removed.stderr
    assert moor("ps", "-a", "-q").stdout == ""


def test_auto_remove_after_a_detached_container_ends(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["true"], "auto_remove": True})
    removing = os.path.join(engine.paths.tmp, f"removing-{container_id}")

    def removed():
        try:
            engine.container(container_id)
        except NotFound:
            # gone from the list at once (a rename); its files go right after
            return not os.path.exists(removing)
        return False
    wait_until(removed, timeout=10, interval=0.05,
               what="a --rm container to be removed after it exited")


def test_restart_policy_on_failure_with_a_limit(engine, output_of):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "echo run; exit 1"],
                               "restart": "on-failure:2"})

    def restarted_twice_and_exited():
        inspected = engine.inspect(container_id)
        return inspected["RestartCount"] == 2 and inspected["State"]["Status"] == "exited"
    wait_until(restarted_twice_and_exited, timeout=20, interval=0.1,
               what="the second restart to exit")
    inspected = engine.inspect(container_id)
    assert inspected["RestartCount"] == 2
    assert inspected["State"]["Status"] == "exited"
    assert output_of(container_id).count("run") == 3


def test_restart_policy_always_restarts_until_stopped_by_hand(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "sleep 0.2"],
                               "restart": "always"})
    wait_until(lambda: engine.inspect(container_id)["RestartCount"] >= 2,
               timeout=20, interval=0.1, what="two restarts")
    assert engine.inspect(container_id)["RestartCount"] >= 2
    engine.stop(container_id, timeout=1)
    count = engine.inspect(container_id)["RestartCount"]
    time.sleep(1)
    inspected = engine.inspect(container_id)
    assert inspected["State"]["Status"] == "exited"
    assert inspected["RestartCount"] == count


def test_restart_policy_no_leaves_it_exited(engine, run_and_wait):
    container_id, code = run_and_wait(["false"])
    assert code == 1
    time.sleep(0.5)
    assert engine.inspect(container_id)["RestartCount"] == 0
    assert engine.inspect(container_id)["State"]["Status"] == "exited"


def test_pause_and_unpause(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"]})
    engine.pause(container_id)
    assert engine.inspect(container_id)["State"]["Status"] == "paused"
    assert engine.containers()[0]["Status"].endswith("(Paused)")
    engine.unpause(container_id)
    assert engine.inspect(container_id)["State"]["Status"] == "running"
    engine.remove(container_id, force=True)


def test_a_paused_container_stops_and_restarts(engine, runtime_name):
    """Paused, it cannot act on SIGTERM; stop thaws it once and kills it after the timeout
    (sh as PID 1 ignores SIGTERM), and restart runs it again."""
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "sleep 100"],
                               "runtime": runtime_name})
    engine.pause(container_id)
    engine.stop(container_id, timeout=1)
    state = engine.inspect(container_id)["State"]
    assert (state["Status"], state["ExitCode"], state["Paused"]) == ("exited", 137, False)
    engine.start(container_id)
    engine.pause(container_id)
    engine.restart(container_id, timeout=1)
    assert engine.inspect(container_id)["State"]["Status"] == "running"
    engine.remove(container_id, force=True)


def test_rename(engine):
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "before"})
    engine.create({"image": "busybox", "cmd": ["true"], "name": "other"})
    engine.rename("before", "after")
    assert engine.container("after").id == container_id
    with pytest.raises(Conflict):
        engine.rename("after", "other")


def test_ps_lists_running_and_all(engine, moor, run_and_wait):
    running = engine.run({"image": "busybox", "cmd": ["sleep", "100"], "name": "ps-running"})
    run_and_wait(["true"], name="ps-exited")
    listing = moor("ps").stdout
    assert listing.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND",
                                               "CREATED", "STATUS", "PORTS", "NAMES"]
    assert "ps-running" in listing and "ps-exited" not in listing
    everything = moor("ps", "-a").stdout
    assert "ps-exited" in everything and "Exited (0)" in everything
    assert moor("ps", "-q", "--no-trunc").stdout.split() == [running]
    exited = moor("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").stdout
    assert exited.split() == ["ps-exited"]
    named = moor("ps", "-a", "--filter", "name=ps-run", "-q").stdout.split()
    assert named == [running[:12]]


def test_run_detached_prints_the_id_at_once(engine, moor):
    started = time.monotonic()
    result = moor("run", "-d", "busybox", "sleep", "100")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    container_id = result.stdout.strip()
    assert engine.inspect(container_id)["State"]["Running"] is True


def test_attached_run_returns_the_programs_status_and_output(moor):
    result = moor("run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2; exit 42")
    assert result.returncode == 42
    assert result.stdout == "to-out\n"
    assert result.stderr == "to-err\n"
    assert moor("ps", "-a", "-q").stdout == ""


def test_wait_prints_the_exit_code(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "sleep 0.3; exit 9"]})
    result = moor("wait", container_id)
    assert result.stdout == "9\n"


def test_inspect_is_docker_shaped(engine, moor):
    import json
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"], "name": "shape",
                               "env": ["A=1"], "workdir": "/tmp", "memory": "64m"})
    document = json.loads(moor("inspect", "shape").stdout)[0]
    assert document["Id"] == container_id
    assert document["Name"] == "/shape"
    assert set(document["State"]) >= {"Status", "Running", "Paused", "Pid", "ExitCode",
                                      "OOMKilled", "StartedAt", "FinishedAt"}
    assert document["State"]["Pid"] > 0
    assert "A=1" in document["Config"]["Env"]
    assert document["Config"]["WorkingDir"] == "/tmp"
    assert document["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert document["GraphDriver"]["Name"] == "overlay"
    assert document["Image"].startswith("sha256:")
    assert moor("inspect", "-f", "{{.State.Status}}", "shape").stdout == "running\n"


def test_an_image_pinned_by_id_is_shown_by_the_name_it_was_asked_by(engine, moor):
    """The console runs the image it checked by ID and passes the name the user chose: `ps`
    shows the name while it still names that image, and the ID otherwise."""
    image_id = engine.store.resolve("busybox")
    engine.create({"image": image_id, "image_name": "busybox:latest", "cmd": ["true"],
                   "name": "pinned"})
    engine.create({"image": image_id, "image_name": "elsewhere:1", "cmd": ["true"],
                   "name": "stale-name"})
    shown = dict(line.split() for line in moor(
        "ps", "-a", "--format", "{{.Names}} {{.Image}}").stdout.splitlines())
    assert shown["pinned"] == "busybox:latest"
    assert shown["stale-name"] == image_id[7:19]
    assert moor("inspect", "-f", "{{.Config.Image}}", "pinned").stdout == "busybox:latest\n"


# -- bad input: one clear line, Docker's exit status, nothing left behind -----------------

@pytest.mark.parametrize("args, status, message", [
    (["--pull", "never", "nosuchimage"], 125, "No such image"),
    (["busybox", "nosuchcommand"], 127, "executable file not found"),
    (["busybox", "/etc/passwd"], 126, "permission denied"),
    (["-m", "abc", "busybox", "true"], 125, "invalid memory size"),
    (["-m", "1k", "busybox", "true"], 125, "Minimum memory limit"),
    (["--cpus", "-1", "busybox", "true"], 125, "cpus"),
    (["--cpus", "999", "busybox", "true"], 125, "range of CPUs"),
    (["--restart", "sometimes", "busybox", "true"], 125, "invalid restart policy"),
    (["--rm", "--restart", "always", "busybox", "true"], 125, "Conflicting options"),
    (["--name", "bad name!", "busybox", "true"], 125, "invalid container name"),
    (["-u", "nosuchuser", "busybox", "true"], 126, "unable to find user"),
    (["-w", "relative", "busybox", "true"], 125, "absolute path"),
    (["--runtime", "nosuch", "busybox", "true"], 125, "unknown runtime"),
    (["--cap-add", "NOT_A_CAP", "busybox", "true"], 125, "unknown capability"),
    (["-v", "relative/path:/x", "busybox", "true"], 125, "invalid characters for a local "
                                                       "volume name"),
    (["-v", "/x:ro", "busybox", "true"], 125, "invalid volume specification"),
    (["-v", "/etc/hostname/sub:/x", "busybox", "true"], 125, "cannot create the host directory"),
    (["--nosuchflag", "busybox", "true"], 125, "unknown flag: --nosuchflag"),
    (["Busybox"], 125, "invalid reference format"),
])
def test_run_fails_cleanly(engine, moor, args, status, message):
    before = set(os.listdir(engine.paths.containers))
    result = moor("run", *args)
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert set(os.listdir(engine.paths.containers)) == before


def test_a_missing_bind_source_becomes_a_new_directory(engine, moor, tmp_path):
    """As Docker's -v: the host path is made, not left for the runtime to fail on."""
    source = tmp_path / "made" / "here"
    result = moor("run", "--rm", "-v", f"{source}:/data", "busybox", "sh", "-c",
                  "touch /data/x && echo ok")
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
    assert (source / "x").exists() and (source.stat().st_mode & 0o777) == 0o755


def test_unknown_container_is_one_line_and_status_1(moor):
    for verb in ("stop", "kill", "rm", "start", "logs", "inspect"):
        result = moor(verb, "nosuchcontainer")
        assert result.returncode == 1, (verb, result.stderr)
        assert "No such container" in result.stderr or "No such object" in result.stderr


def test_kill_of_a_stopped_container_is_an_error(engine, run_and_wait):
    container_id, _ = run_and_wait(["true"])
    with pytest.raises(Conflict, match="is not running"):
        engine.kill(container_id)


def test_invalid_options_through_the_api(engine):
    with pytest.raises(InvalidArgument, match="unknown option"):
        engine.create({"image": "busybox", "cmd": ["true"], "bogus": 1})
    with pytest.raises(InvalidArgument):
        engine.create({"image": "busybox", "cmd": "true", "id": "not-hex"})
    with pytest.raises(MoorError):
        engine.create({"image": "", "cmd": ["true"]})


def test_a_failed_start_leaves_the_container_created_and_nothing_mounted(engine):
    container_id = engine.create({"image": "busybox", "cmd": ["nosuchprogram"]})
    with pytest.raises(lifecycle.StartFailed) as failure:
        engine.start(container_id)
    assert failure.value.status == 127
    assert engine.inspect(container_id)["State"]["Status"] == "created"
    # the engine fixture checks that no mount, cgroup or runtime state is left


def test_names_are_found_through_the_index_and_it_heals(engine):
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "indexed"})
    link = os.path.join(engine.paths.root, "names", "indexed")
    assert os.readlink(link) == container_id
    engine.rename("indexed", "renamed")
    assert not os.path.lexists(link)
    assert engine.container("renamed").id == container_id
    # A stale or missing index never gives a wrong answer: each hit is checked, and a root
    # without a complete index is scanned and re-indexed.
    os.symlink(container_id, link)   # stale: points at a container named otherwise
    with pytest.raises(NotFound):
        engine.container("indexed")
    import shutil
    shutil.rmtree(os.path.join(engine.paths.root, "names"))
    assert engine.container("renamed").id == container_id
    assert os.readlink(os.path.join(engine.paths.root, "names", "renamed")) == container_id
    engine.remove("renamed")
    assert not os.path.lexists(os.path.join(engine.paths.root, "names", "renamed"))


def test_top_and_stats(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "sleep 300; echo done"],
                               "name": "watched", "memory": "64m"})
    top = moor("top", "watched")
    assert top.returncode == 0, top.stderr
    header, *rows = top.stdout.splitlines()
    assert header.split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]

    def both_processes():  # the shell forks its sleep
        found = moor("top", "watched").stdout.splitlines()[1:]
        return found if len(found) >= 2 else None
    if len(rows) < 2:
        rows = wait_until(both_processes, timeout=5, interval=0.05,
                          what="the shell's sleep in top")
    assert any(row.rstrip().endswith("sh -c sleep 300; echo done") for row in rows)
    assert any(row.rstrip().endswith("sleep 300") for row in rows)
    stats = moor("stats", "--no-stream", "watched")
    assert stats.returncode == 0, stats.stderr
    line = stats.stdout.splitlines()[1]
    assert line.startswith(container_id[:12]) and "watched" in line
    assert "/ 64MiB" in line
    assert line.split()[-1] == "2"  # sh and its sleep
    engine.remove(container_id, force=True)
