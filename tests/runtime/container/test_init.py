"""`--init`: Debian's static tini as PID 1, bound into the container's /dev: it passes a
stop's SIGTERM on to a program that would ignore it as PID 1, reaps orphans, adds nothing
to the container's layers, and is refused clearly where the host has no init program."""

import pytest

from runtime.container import init_process
from runtime.errors import InvalidArgument
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

ORPHAN = ["sh", "-c", "(sleep 0.2 &); exec sleep 600"]   # leaves an orphan that ends


def processes(moor, container_id) -> list[tuple[str, str, str]]:
    """(pid, state, command) of each process in the container but the ps that lists them."""
    output = moor("exec", container_id, "ps", "-o", "pid,stat,comm", check=True).stdout
    rows = [tuple(line.split()) for line in output.splitlines()[1:]]
    return [row for row in rows if row[2] != "ps"]


def test_init_is_pid_1_and_runs_the_program_as_its_child(engine, moor, runtime_name):
    result = moor("run", "--rm", "--init", "--runtime", runtime_name, "busybox", "ps", "-o",
                  "pid,comm,args", check=True).stdout.splitlines()
    assert result[1].split() == ["1", "init", "/dev/init", "--", "ps", "-o", "pid,comm,args"]
    assert result[2].split()[1] == "ps"


def test_a_stop_reaches_a_program_that_would_ignore_it_as_pid_1(engine):
    plain = engine.run({"image": "busybox", "cmd": ["sleep", "600"]})
    with_init = engine.run({"image": "busybox", "cmd": ["sleep", "600"], "init": True})
    engine.stop(plain, timeout=1)
    engine.stop(with_init, timeout=30)
    # sleep as PID 1 ignores SIGTERM and is killed after the timeout; under init it ends by it
    assert engine.inspect(plain)["State"]["ExitCode"] == 137
    assert engine.inspect(with_init)["State"]["ExitCode"] == 143
    assert engine.inspect(with_init)["HostConfig"]["Init"] is True
    assert engine.inspect(plain)["HostConfig"]["Init"] is None
    assert engine.inspect(with_init)["Path"] == "sleep"     # the program, as Docker shows it
    for made in (plain, with_init):
        engine.remove(made)


def test_orphans_are_reaped_under_init_only(engine, moor):
    plain = engine.run({"image": "busybox", "cmd": ORPHAN})
    with_init = engine.run({"image": "busybox", "cmd": ORPHAN, "init": True})
    wait_until(lambda: any(state == "Z" for _, state, _ in processes(moor, plain)),
               what="the orphan to end as a zombie of PID 1")
    wait_until(lambda: [command for _, _, command in processes(moor, with_init)] ==
               ["init", "sleep"], what="the orphan reaped by init")
    assert not any(state == "Z" for _, state, _ in processes(moor, with_init))
    for made in (plain, with_init):
        engine.remove(made, force=True)


def test_init_adds_nothing_to_the_containers_layers(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "600"], "init": True,
                               "read_only": True})
    assert engine.diff(container_id) == []
    engine.remove(container_id, force=True)


def test_a_host_without_an_init_program_refuses_the_create(engine, monkeypatch):
    monkeypatch.setattr(init_process, "CANDIDATES", ("/no/such/tini",))
    before = engine.containers(all=True)
    with pytest.raises(InvalidArgument, match="--init needs a static init program: install "
                                              "Debian's tini package"):
        engine.create({"image": "busybox", "cmd": ["true"], "init": True})
    assert engine.containers(all=True) == before
