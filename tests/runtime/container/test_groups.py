"""Groups: containers under one parent cgroup whose memory, CPU and PIDs limits the kernel holds
the whole group to (a team's quota on a host), whatever each container asks.

The OOM, PIDs and CPU tests run real containers under crun and runc; the cgroup files are read
where the kernel keeps them (v1: /sys/fs/cgroup/<controller>/..., v2: /sys/fs/cgroup/...).
"""

import contextlib
import os

import pytest

from runtime.container import cgroups, groups, removal, spec
from runtime.container.state import Container
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from tests.stack import wait_until

UNIFIED = os.path.exists("/sys/fs/cgroup/cgroup.controllers")

# Holds 90 MiB of anonymous memory for as long as it lives: dd reads 90 MiB into its buffer,
# then blocks writing it into a FIFO that a sleeping reader never empties. dd is PID 1, so
# the container ends when the OOM killer takes it.
HOLD_90_MIB = ("mkfifo /hold && { sleep 3600 < /hold & } && "
               "exec dd if=/dev/zero of=/hold bs=90M count=1")


def cgroup_file(relative: str, controller: str, name: str) -> str:
    if UNIFIED:
        return f"/sys/fs/cgroup/{relative}/{name}"
    return f"/sys/fs/cgroup/{controller}/{relative}/{name}"


def read(relative: str, controller: str, v1_name: str, v2_name: str) -> str:
    with open(cgroup_file(relative, controller, v2_name if UNIFIED else v1_name)) as f:
        return f.read().strip()


def memory_max(relative: str) -> int:
    text = read(relative, "memory", "memory.limit_in_bytes", "memory.max")
    return 0 if text == "max" or int(text) >= 1 << 62 else int(text)


def memory_current(relative: str) -> int:
    return int(read(relative, "memory", "memory.usage_in_bytes", "memory.current"))


def memory_failures(relative: str) -> int:
    if UNIFIED:
        events = read(relative, "memory", "", "memory.events").splitlines()
        return int(next(line.split()[1] for line in events if line.startswith("max ")))
    return int(read(relative, "memory", "memory.failcnt", ""))


def oom_kills(relative: str) -> int:
    text = read(relative, "memory", "memory.oom_control", "memory.events")
    return int(next(line.split()[1] for line in text.splitlines()
                    if line.startswith("oom_kill ")))


def cpu_quota(relative: str) -> int:
    if UNIFIED:
        quota, period = read(relative, "cpu", "", "cpu.max").split()
    else:
        quota = read(relative, "cpu", "cpu.cfs_quota_us", "")
        period = read(relative, "cpu", "cpu.cfs_period_us", "")
    assert int(period) == 100000
    return -1 if quota == "max" else int(quota)


def pids_max(relative: str) -> int:
    text = read(relative, "pids", "pids.max", "pids.max")
    return 0 if text == "max" else int(text)


def pids_current(relative: str) -> int:
    return int(read(relative, "pids", "pids.current", "pids.current"))


def own_cgroup(pid: int, controller: str = "memory") -> str:
    """The cgroup of a process, as /proc/<pid>/cgroup says (without the leading /)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if (UNIFIED and controllers == "") or controller in controllers.split(","):
                return path.lstrip("/")
    raise AssertionError(f"no {controller} cgroup for {pid}")


@pytest.fixture
def make_group(engine):
    """`make_group(prefix, **limits)` -> a new group's name; after the test its containers
    and the group are removed."""
    made = []

    def make(prefix: str = "g", **limits) -> str:
        name = f"{prefix}-{os.urandom(3).hex()}"
        made.append(name)
        engine.group_set(name, **limits)
        return name
    yield make
    for name in made:
        for container in groups.members(engine, name):
            removal.remove(engine, container, force=True, volumes=True)
        with contextlib.suppress(NotFound):
            engine.group_remove(name)


def place(engine, name: str, container_id: str = "") -> str:
    return "/".join(part for part in (engine.paths.cgroup_parent, name, container_id) if part)


# -- without containers -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "-dash", "a" * 64, "monitors",
                                  "a b", "x\n"])
def test_names_that_could_reach_elsewhere_or_pass_for_a_container_are_refused(name):
    with pytest.raises(InvalidArgument):
        groups.validate(name)


def test_a_name_of_63_characters_is_the_longest():
    assert groups.validate("a" * 63) == "a" * 63


def test_the_spec_caps_cpus_and_pids_to_the_groups_but_keeps_memory_as_asked():
    host = {"Memory": 100 << 20, "NanoCpus": 2_000_000_000, "PidsLimit": 1000,
            "CgroupParent": "team-1"}
    container = Container("/var/lib/moorage/containers/" + "a" * 64,
                          {"Id": "a" * 64, "Name": "x", "Config": {}, "HostConfig": host}, {})
    request = spec.SpecRequest(container, "/r", None, [], ["sh"], "/", None, False, False,
                               "moorage-0123456789ab/team-1",
                               group={"Memory": 64 << 20, "NanoCpus": 500_000_000,
                                      "PidsLimit": 20})
    built = {"linux": {}}
    spec.add_resources(request, built)
    resources = built["linux"]["resources"]
    assert resources["memory"] == {"limit": 100 << 20}
    assert resources["cpu"] == {"period": 100000, "quota": 50000}
    assert resources["pids"] == {"limit": 20}
    assert built["linux"]["cgroupsPath"] == "/moorage-0123456789ab/team-1/" + "a" * 64
    # Below the group's, a container keeps its own; without any, it gets none of its own.
    assert cgroups.capped(10, 20) == 10 and cgroups.capped(0, 20) == 0
    assert cgroups.capped(30, 0) == 30


def test_on_a_v2_host_the_controllers_are_enabled_down_the_path_and_limits_written(
        tmp_path, monkeypatch):
    # A unit test of the v2 layout on a stand-in tree (this suite's hosts are v1): the files
    # the kernel would show at each level are made here, the ones the engine writes read back.
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", str(tmp_path))
    child = "c" * 64
    levels = [tmp_path, tmp_path / "moorage-0123456789ab", tmp_path / "moorage-0123456789ab" /
              "team-1"]
    for level in levels:
        level.mkdir(exist_ok=True)
        (level / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
        (level / "cgroup.subtree_control").write_text("cpu\n" if level == tmp_path else "")
    (levels[2] / child).mkdir()
    cgroups.apply_group("moorage-0123456789ab/team-1",
                        {"Memory": 128 << 20, "NanoCpus": 1_500_000_000, "PidsLimit": 20},
                        {child: (2_000_000_000, 0)})
    assert [(level / "cgroup.subtree_control").read_text() for level in levels] == [
        "+memory +pids", "+memory +cpu +pids", "+memory +cpu +pids"]
    assert (levels[2] / "memory.max").read_text() == str(128 << 20)
    assert (levels[2] / "cpu.max").read_text() == "150000 100000"
    assert (levels[2] / "pids.max").read_text() == "20"
    assert (levels[2] / child / "cpu.max").read_text() == "150000 100000"
    assert not (levels[2] / child / "pids.max").exists()   # it asked none of its own
    (levels[2] / "memory.current").write_text("4096\n")
    (levels[2] / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (levels[2] / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\n")
    (levels[2] / "pids.current").write_text("7\n")
    assert cgroups.group_usage("moorage-0123456789ab/team-1") == {
        "Memory": {"Current": 4096, "Max": 128 << 20, "FailCount": 3, "OOMKills": 1},
        "Cpu": {"UsageNanos": 2_500_000, "Quota": 150000, "Period": 100000},
        "Pids": {"Current": 7, "Max": 20}}
    cgroups.apply_group("moorage-0123456789ab/team-1", {}, {child: (2_000_000_000, 0)})
    assert [(levels[2] / name).read_text() for name in ("memory.max", "cpu.max", "pids.max")] \
        == ["max", "max 100000", "max"]
    assert (levels[2] / child / "cpu.max").read_text() == "200000 100000"


@pytest.mark.privileged
def test_set_creates_then_changes_a_group_and_its_cgroup(engine, make_group):
    name = make_group("set", memory="64m", cpus=0.5, pids=30)
    relative = place(engine, name)
    assert (memory_max(relative), cpu_quota(relative), pids_max(relative)) == (
        64 << 20, 50000, 30)
    created = engine.group_inspect(name)["CreatedAt"]
    record = engine.group_set(name, memory=None, cpus="1.5", pids=None)
    assert record["CreatedAt"] == created
    assert (record["Memory"], record["NanoCpus"], record["PidsLimit"]) == (0, 1_500_000_000, 0)
    assert (memory_max(relative), cpu_quota(relative), pids_max(relative)) == (0, 150000, 0)
    assert [group["Name"] for group in engine.groups() if group["Name"] == name] == [name]


@pytest.mark.privileged
def test_bad_limits_are_refused_before_anything_is_made(engine):
    for limits in ({"memory": "1k"}, {"memory": "lots"}, {"cpus": "-1"}, {"cpus": 1000},
                   {"pids": "many"}):
        with pytest.raises(InvalidArgument):
            engine.group_set("bad-limits", **limits)
    with pytest.raises(NotFound):
        engine.group_inspect("bad-limits")
    assert not os.path.exists(cgroup_file(place(engine, "bad-limits"), "memory", ""))


# -- the kernel holds the group to its limits ------------------------------------------------------

@pytest.mark.privileged
def test_two_containers_overcommitting_a_group_oom_kill_inside_it_and_nowhere_else(
        engine, make_group, runtime_name):
    name = make_group("oom", memory="128m")
    relative = place(engine, name)
    outsider = engine.run({"image": "busybox", "cmd": ["sh", "-c", HOLD_90_MIB],
                           "runtime": runtime_name})
    first = engine.run({"image": "busybox", "cmd": ["sh", "-c", HOLD_90_MIB], "memory": "100m",
                        "group": name, "runtime": runtime_name})
    wait_until(lambda: memory_current(place(engine, name, first)) >= 88 << 20,
               what="the first container to hold its 90 MiB")
    # Docker lets limits overcommit: 2 x 100 MiB asked in a group of 128 MiB both start.
    second = engine.run({"image": "busybox", "cmd": ["sh", "-c", HOLD_90_MIB],
                         "memory": "100m", "group": name, "runtime": runtime_name})

    def one_ended():
        states = {c: engine.inspect(c)["State"] for c in (first, second)}
        ended = [c for c, state in states.items() if state["Status"] == "exited"]
        return ended[0] if ended else None
    killed = wait_until(one_ended, what="the group's OOM kill")
    survivor = second if killed == first else first
    state = engine.inspect(killed)["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (137, True)
    assert engine.inspect(survivor)["State"]["Status"] == "running"
    assert memory_failures(relative) > 0
    assert engine.group_inspect(name)["Usage"]["Memory"]["FailCount"] == \
        memory_failures(relative)
    # The survivor now holds its own 90 MiB within the group's limit.
    wait_until(lambda: memory_current(place(engine, name, survivor)) >= 88 << 20,
               what="the survivor to hold its memory")
    assert memory_current(relative) <= 128 << 20
    # Nothing outside the group: the container beside it holds its memory, unharmed.
    assert engine.inspect(outsider)["State"]["Status"] == "running"
    assert oom_kills(place(engine, "", outsider)) == 0
    assert memory_current(place(engine, "", outsider)) >= 88 << 20
    # conmon was told of the group's OOM in the survivor's cgroup too: it was not killed.
    assert oom_kills(place(engine, name, survivor)) == 0
    engine.kill(survivor)
    engine.wait(survivor)
    assert engine.inspect(survivor)["State"]["OOMKilled"] is False
    engine.remove(outsider, force=True)


@pytest.mark.privileged
def test_a_pids_limit_above_the_groups_is_capped_to_it(engine, make_group, runtime_name):
    name = make_group("pids", pids=12)
    # (runc's init is a Go program whose threads count too: this one starts while there is
    # room; a full group refuses to start another container.)
    own = engine.run({"image": "busybox", "group": name, "pids_limit": 3,
                      "runtime": runtime_name, "cmd": ["sleep", "300"]})
    capped = engine.run({"image": "busybox", "group": name, "pids_limit": 1000,
                         "runtime": runtime_name, "cmd": ["sh", "-c",
                         "(for i in $(seq 1 30); do sleep 300 & done); echo tried; "
                         "exec sleep 300"]})
    assert pids_max(place(engine, name, capped)) == 12
    assert pids_max(place(engine, name, own)) == 3
    # inspect shows what was asked; the kernel gives at most the group's.
    assert engine.inspect(capped)["HostConfig"]["PidsLimit"] == 1000
    output = wait_until(lambda: [text for text in ["".join(
        r.data.decode() for r in engine.logs(capped))] if "tried" in text],
        what="the fork loop to end")[0]
    assert "can't fork" in output
    assert pids_current(place(engine, name)) <= 12
    assert engine.group_inspect(name)["Usage"]["Pids"] == {
        "Current": pids_current(place(engine, name)), "Max": 12}
    # In a full group, runc's init cannot make its threads: the start fails and says how full
    # the group is. crun moves its one process in (the kernel limits forks, not moves), and
    # that process cannot fork either.
    full = pids_current(place(engine, name))
    engine.group_set(name, pids=full)
    if runtime_name == "runc":
        with pytest.raises(MoorError, match=f"group {name} uses {full} of {full} PIDs"):
            engine.run({"image": "busybox", "group": name, "runtime": runtime_name,
                        "cmd": ["true"]})
    else:
        late = engine.run({"image": "busybox", "group": name, "runtime": runtime_name,
                           "cmd": ["sh", "-c", "sleep 1 & wait"]})
        assert engine.wait(late) != 0
        assert "can't fork" in "".join(r.data.decode() for r in engine.logs(late))
        engine.remove(late)
    # A lower limit for the group holds at once for the containers in it.
    engine.group_set(name, pids=5)
    assert pids_max(place(engine, name)) == 5
    assert (pids_max(place(engine, name, capped)), pids_max(place(engine, name, own))) == (5, 3)
    engine.group_set(name, pids=None)
    assert (pids_max(place(engine, name, capped)), pids_max(place(engine, name, own))) == (
        1000, 3)


@pytest.mark.privileged
def test_cpus_become_the_groups_cfs_quota_and_cap_its_containers(engine, make_group,
                                                                 runtime_name):
    name = make_group("cpu", cpus=0.5)
    greedy = engine.run({"image": "busybox", "group": name, "cpus": 1.5,
                         "runtime": runtime_name, "cmd": ["sleep", "300"]})
    modest = engine.run({"image": "busybox", "group": name, "cpus": 0.25,
                         "runtime": runtime_name, "cmd": ["sleep", "300"]})
    free = engine.run({"image": "busybox", "group": name, "runtime": runtime_name,
                       "cmd": ["sleep", "300"]})

    def quotas():
        return (cpu_quota(place(engine, name)), cpu_quota(place(engine, name, greedy)),
                cpu_quota(place(engine, name, modest)), cpu_quota(place(engine, name, free)))
    assert quotas() == (50000, 50000, 25000, -1)
    assert engine.inspect(greedy)["HostConfig"]["NanoCpus"] == 1_500_000_000
    # Lowering the group's below its containers' (a v1 kernel refuses a child above its
    # parent: they come down first), then raising it, then none.
    engine.group_set(name, cpus=0.2)
    assert quotas() == (20000, 20000, 20000, -1)
    engine.group_set(name, cpus=1)
    assert quotas() == (100000, 100000, 25000, -1)
    engine.group_set(name)
    assert quotas() == (-1, 150000, 25000, -1)
    usage = engine.group_inspect(name)["Usage"]["Cpu"]
    assert (usage["Quota"], usage["Period"]) == (-1, 100000)


@pytest.mark.privileged
def test_update_in_a_group_caps_cpus_and_pids_to_the_groups(engine, make_group, moor,
                                                             runtime_name):
    name = make_group("update", cpus=0.5, pids=20)
    container_id = engine.run({"image": "busybox", "group": name, "runtime": runtime_name,
                               "cmd": ["sleep", "300"]})
    here = place(engine, name, container_id)
    assert (cpu_quota(here), pids_max(here)) == (-1, 0)
    moor("update", "--cpus", "2", "--pids-limit", "500", container_id, check=True)
    assert (cpu_quota(here), pids_max(here)) == (50000, 20)
    host = engine.inspect(container_id)["HostConfig"]
    assert (host["NanoCpus"], host["PidsLimit"]) == (2_000_000_000, 500)    # as asked
    moor("update", "--cpus", "0.25", "--pids-limit", "5", container_id, check=True)
    assert (cpu_quota(here), pids_max(here)) == (25000, 5)
    # No limit of its own: the group's holds for it, as for a container made without one.
    moor("update", "--cpus", "0", "--pids-limit", "-1", container_id, check=True)
    assert (cpu_quota(here), pids_max(here)) == (-1, 0)
    assert (cpu_quota(place(engine, name)), pids_max(place(engine, name))) == (50000, 20)


@pytest.mark.privileged
@pytest.mark.skipif(UNIFIED, reason="v2 reclaims and OOM-kills instead of refusing")
def test_a_memory_limit_below_what_the_group_holds_is_refused_and_the_old_one_kept(
        engine, make_group):
    name = make_group("busy", memory="256m")
    holder = engine.run({"image": "busybox", "group": name, "cmd": ["sh", "-c", HOLD_90_MIB]})
    wait_until(lambda: memory_current(place(engine, name, holder)) >= 88 << 20,
               what="the container to hold its memory")
    with pytest.raises(Conflict, match=f"cannot limit group {name}"):
        engine.group_set(name, memory="32m")
    assert memory_max(place(engine, name)) == 256 << 20
    assert engine.group_inspect(name)["Memory"] == 256 << 20
    assert engine.inspect(holder)["State"]["Status"] == "running"


# -- life around groups ----------------------------------------------------------------------

@pytest.mark.privileged
def test_a_group_cannot_go_while_a_container_is_in_it_even_stopped(engine, make_group):
    name = make_group("busy")
    container_id = engine.create({"image": "busybox", "group": name, "cmd": ["true"]})
    with pytest.raises(Conflict, match="has 1 container"):
        engine.group_remove(name)
    engine.remove(container_id)
    engine.group_remove(name)
    with pytest.raises(NotFound):
        engine.group_inspect(name)
    for hierarchy in cgroups.hierarchies():
        assert not os.path.exists(os.path.join(hierarchy, place(engine, name)))


@pytest.mark.privileged
def test_a_container_in_no_such_group_is_refused_and_nothing_is_left(engine, leftovers):
    before = engine.containers(all=True)
    with pytest.raises(NotFound, match="No such group: nowhere"):
        engine.run({"image": "busybox", "group": "nowhere", "cmd": ["true"]})
    with pytest.raises(InvalidArgument):
        engine.create({"image": "busybox", "group": "../../x", "cmd": ["true"]})
    assert engine.containers(all=True) == before
    assert leftovers() == []


@pytest.mark.privileged
def test_monitors_stay_outside_groups(engine, make_group, runtime_name):
    name = make_group("mon", memory="64m")
    container_id = engine.run({"image": "busybox", "group": name, "runtime": runtime_name,
                               "cmd": ["sleep", "300"]})
    state = engine.container(container_id).state
    parent = engine.paths.cgroup_parent
    assert own_cgroup(state["Pid"]).endswith(f"{parent}/{name}/{container_id}")
    assert own_cgroup(state["MonitorPid"]).endswith(f"{parent}/monitors")


@pytest.mark.privileged
def test_groups_survive_restarts_policies_and_a_reboot(engine, make_group, runtime_name):
    from runtime import atomic
    name = make_group("boot", memory="64m", pids=16)
    relative = place(engine, name)
    # Restarted by its policy (the exit command starts it again) into the same group.
    container_id = engine.run({
        "image": "busybox", "group": name, "pids_limit": 100, "restart": "always",
        "runtime": runtime_name,
        "cmd": ["sh", "-c", "[ -e /ran ] && exec sleep 300; touch /ran; exit 3"]})
    wait_until(lambda: engine.inspect(container_id)["RestartCount"] == 1 and
               engine.inspect(container_id)["State"]["Status"] == "running",
               what="the restart policy to start it again")
    assert own_cgroup(engine.inspect(container_id)["State"]["Pid"]).endswith(
        f"{relative}/{container_id}")
    engine.restart(container_id, timeout=0)
    assert own_cgroup(engine.inspect(container_id)["State"]["Pid"]).endswith(
        f"{relative}/{container_id}")
    assert pids_max(place(engine, name, container_id)) == 16
    # A reboot takes every cgroup: boot makes the group's again before starting anything.
    engine.stop(container_id, timeout=0)
    cgroups.remove_group(relative)
    atomic.write_json(os.path.join(engine.paths.root, "boot_id"), {"boot_id": "before"})
    report = engine.boot()
    assert f"group {name}: limits applied" in report
    assert (memory_max(relative), pids_max(relative)) == (64 << 20, 16)
    assert engine.inspect(container_id)["State"]["Status"] == "running"
    assert own_cgroup(engine.inspect(container_id)["State"]["Pid"]).endswith(
        f"{relative}/{container_id}")
    # Without boot (a group's cgroup lost some other way), the next start makes it again.
    engine.stop(container_id, timeout=0)
    cgroups.remove_group(relative)
    engine.start(container_id)
    assert (memory_max(relative), pids_max(relative)) == (64 << 20, 16)


@pytest.mark.privileged
def test_gc_keeps_defined_groups_and_sweeps_what_no_definition_accounts_for(
        engine, make_group, leftovers):
    name = make_group("gc", pids=10)
    relative = place(engine, name)
    stale_group = cgroup_file(place(engine, "nobody-defines-me"), "pids", "")
    stale_child = cgroup_file(place(engine, name, "f" * 64), "pids", "")
    os.makedirs(stale_group)
    os.makedirs(stale_child)
    assert sorted(leftovers()) == sorted([f"cgroup {stale_group.rstrip('/')}",
                                          f"cgroup {stale_child.rstrip('/')}"])
    found = engine.gc()
    assert any("nobody-defines-me" in line for line in found)
    assert not os.path.exists(stale_group) and not os.path.exists(stale_child)
    assert pids_max(relative) == 10
    assert leftovers() == []


@pytest.mark.privileged
def test_reset_removes_groups_with_the_containers_running_in_them(tmp_path):
    from runtime.api import Engine
    doomed = Engine(str(tmp_path / "doomed"))
    doomed.bootstrap_busybox()
    doomed.group_set("team-9", memory="64m", pids=10)
    doomed.run({"image": "busybox", "group": "team-9", "cmd": ["sleep", "300"]})
    assert os.path.isdir(cgroup_file(place(doomed, "team-9"), "memory", ""))
    doomed.reset()
    assert not [hierarchy for hierarchy in cgroups.hierarchies() if os.path.exists(
        os.path.join(hierarchy, doomed.paths.cgroup_parent))]


@pytest.mark.privileged
def test_inspect_reads_the_cgroup_files_and_counts_the_groups_disk(engine, make_group):
    name = make_group("usage", memory="96m", cpus=1, pids=50)
    relative = place(engine, name)
    volume = engine.volume_create(f"data-{name}", labels={groups.GROUP_LABEL: name})
    with open(os.path.join(volume["Mountpoint"], "blob"), "wb") as f:
        f.write(os.urandom(2 << 20))
    container_id = engine.run({
        "image": "busybox", "group": name, "volumes": ["/cache"],
        "cmd": ["sh", "-c", "head -c 524288 /dev/urandom > /cache/part && "
                            "head -c 1048576 /dev/urandom > /big && exec sleep 300"]})
    engine.create({"image": "busybox", "group": name, "cmd": ["true"]})
    # Written in that order, and only the sleep left: nothing changes while we read.
    wait_until(lambda: engine.diff(container_id) and os.path.getsize(
        os.path.join(engine.container(container_id).path("upper"), "big")) == 1 << 20
        and pids_current(relative) == 1, what="the container to write its files")
    cpu_before = int(read(relative, "cpuacct", "cpuacct.usage", "")) if not UNIFIED else 0
    document = engine.group_inspect(name)
    usage = document["Usage"]
    assert (document["Memory"], document["NanoCpus"], document["PidsLimit"]) == (
        96 << 20, 1_000_000_000, 50)
    assert usage["Memory"]["Max"] == memory_max(relative) == 96 << 20
    assert 0 < usage["Memory"]["Current"] <= 96 << 20
    assert usage["Cpu"]["Quota"] == cpu_quota(relative) == 100000
    assert usage["Cpu"]["UsageNanos"] >= cpu_before
    assert usage["Pids"] == {"Current": pids_current(relative), "Max": 50}
    assert usage["Containers"] == {"Total": 2, "Running": 1}
    assert len(document["Containers"]) == 2
    # Disk: the containers' writable layers, the group's labelled volumes and its
    # containers' anonymous ones, counted as `system df` counts them.
    df = engine.system_df()
    layers = sum(row["SizeRw"] for row in df["Containers"] if row["Id"] in
                 document["Containers"])
    anonymous = [point["Name"] for point in engine.inspect(container_id)["Mounts"]
                 if point["Type"] == "volume"]
    volumes = sum(row["UsageData"]["Size"] for row in df["Volumes"]
                  if row["Name"] in anonymous + [volume["Name"]])
    assert usage["Disk"] == {"WritableLayers": layers, "Volumes": volumes,
                             "Total": layers + volumes}
    assert layers >= 1 << 20 and volumes >= (2 << 20) + (512 << 10)
    for member in groups.members(engine, name):
        engine.remove(member.id, force=True, volumes=True)
    engine.volume_remove(volume["Name"])


# -- moor -----------------------------------------------------------------------------------

@pytest.mark.privileged
def test_moor_group_verbs_and_run_in_a_group(engine, moor):
    name = f"cli-{os.urandom(3).hex()}"
    assert moor("group", "set", name, "-m", "64m", "--cpus", "0.5", "--pids-limit", "20",
                check=True).stdout == f"{name}\n"
    listed = moor("group", "ls", "--format", "{{.Name}} {{.Memory}} {{.CPUs}} {{.PIDs}}",
                  check=True).stdout
    assert f"{name} 64MiB 0.5 20\n" in listed
    assert name in moor("group", "ls", "-q", check=True).stdout.split()
    refused = moor("run", "--group", "no-such-group", "busybox", "true")
    assert (refused.returncode, refused.stderr) == (125, "Error: No such group: "
                                                         "no-such-group\n")
    container_id = moor("run", "-d", "--cgroup-parent", name, "--pids-limit", "500",
                        "busybox", "sleep", "300", check=True).stdout.strip()
    assert moor("inspect", "-f", "{{.HostConfig.CgroupParent}} {{.HostConfig.PidsLimit}}",
                container_id, check=True).stdout == f"{name} 500\n"
    # top and stats find the container's cgroup inside its group.
    assert "sleep 300" in moor("top", container_id, check=True).stdout
    assert moor("stats", "--no-stream", "--format", "{{.PIDs}}", container_id,
                check=True).stdout == "1\n"
    assert moor("group", "inspect", "-f", "{{.Usage.Pids.Max}} {{.Usage.Containers.Running}}",
                name, check=True).stdout == "20 1\n"
    busy = moor("group", "rm", name)
    assert busy.returncode == 1 and f"group {name} has 1 container" in busy.stderr
    moor("rm", "-f", container_id, check=True)
    assert moor("group", "rm", name, check=True).stdout == f"{name}\n"
    missing = moor("group", "inspect", name)
    assert missing.returncode == 1 and missing.stderr == f"Error: No such group: {name}\n"
