"""Every action of the engine writes its events once, in order, with Docker's fields and
attributes, whichever process did it (this test, `moor`, conmon's exit command)."""

import io
import os
import time

import pytest

from runtime.network import NetworkRequest, connect, create_network, disconnect, remove_network
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

TRAPPING = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]


def journal(engine, since: int, **filters) -> list[dict]:
    return list(engine.events(since=f"{since // 10**9}.{since % 10**9:09d}",
                              filters={key: [value] for key, value in filters.items()}))


def actions(engine, since: int, actor: str) -> list[str]:
    return [event["Action"] for event in journal(engine, since) if event["Actor"]["ID"] == actor]


def exit_commands_done(container_id: str) -> bool:
    """No `moor system container-exited <id>` (conmon's exit command) runs any more."""
    marker = f"container-exited\0{container_id}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker in f.read():
                    return False
        except OSError:
            continue
    return True


def settled(engine, since: int, container_id: str, last: str) -> list[str]:
    """The container's actions once `last` is in and conmon's exit command is over (so a
    second `die` would be there too)."""
    wait_until(lambda: last in actions(engine, since, container_id), what=f"the {last} event")
    wait_until(lambda: exit_commands_done(container_id), what="the exit command to end")
    return actions(engine, since, container_id)


def test_a_containers_life_in_order_with_dockers_fields(engine):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING, "name": "ev-life",
                               "labels": {"team": "blue"}})
    engine.stop(container_id, timeout=10)
    engine.start(container_id)
    engine.restart(container_id, timeout=10)
    engine.remove(container_id, force=True)
    seen = settled(engine, since, container_id, "destroy")
    assert seen == ["create", "start",
                    "kill", "die", "stop", "start",
                    "kill", "die", "stop", "start", "restart",
                    "kill", "die", "destroy"]
    mine = [event for event in journal(engine, since) if event["Actor"]["ID"] == container_id]
    create = mine[0]
    assert create["status"] == "create" and create["id"] == container_id
    assert create["from"] == "busybox" and create["Type"] == "container"
    assert create["scope"] == "local"
    assert create["Actor"]["Attributes"] == {"team": "blue", "image": "busybox",
                                             "name": "ev-life"}
    kills = [event["Actor"]["Attributes"]["signal"] for event in mine
             if event["Action"] == "kill"]
    assert kills == ["15", "15", "9"]
    dies = [event["Actor"]["Attributes"]["exitCode"] for event in mine
            if event["Action"] == "die"]
    assert dies == ["0", "0", "137"]
    stamps = [event["timeNano"] for event in mine]
    assert stamps == sorted(stamps)


def test_the_network_is_joined_before_the_start_and_left_after_the_end(engine):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING})
    engine.stop(container_id)
    engine.remove(container_id)
    order = [(event["Type"], event["Action"]) for event in journal(engine, since)
             if container_id in (event["Actor"]["ID"],
                                 event["Actor"]["Attributes"].get("container"))]
    assert order == [("container", "create"), ("network", "connect"), ("container", "start"),
                     ("container", "kill"), ("container", "die"), ("network", "disconnect"),
                     ("container", "stop"), ("container", "destroy")]
    connect_event = journal(engine, since, type="network", event="connect")[-1]
    assert connect_event["Actor"]["Attributes"] == {"name": "bridge", "type": "bridge",
                                                    "container": container_id}
    assert "status" not in connect_event


def test_die_is_written_once_by_the_exit_command_with_the_exit_code(engine):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "exit 3"]})
    seen = settled(engine, since, container_id, "die")
    assert seen == ["create", "start", "die"]
    die = journal(engine, since, container=container_id, event="die")[0]
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert int(die["Actor"]["Attributes"]["execDuration"]) >= 0
    engine.remove(container_id)
    assert actions(engine, since, container_id)[-1] == "destroy"


def test_auto_remove_is_die_then_destroy(engine):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": ["true"], "auto_remove": True})
    assert settled(engine, since, container_id, "destroy") == ["create", "start", "die",
                                                              "destroy"]


def test_an_oom_kill_is_oom_then_die(engine):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "memory": "64m", "cmd": [
        "sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=128M count=1"]})
    seen = settled(engine, since, container_id, "die")
    assert seen == ["create", "start", "oom", "die"]
    assert journal(engine, since, container=container_id, event="die")[0][
        "Actor"]["Attributes"]["exitCode"] == "137"
    engine.remove(container_id)


def test_pause_unpause_rename_kill_exec_commit_copy_export(engine, tmp_path, moor):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING, "name": "ev-misc"})
    engine.pause(container_id)
    engine.unpause(container_id)
    engine.rename(container_id, "ev-misc-2")
    assert moor("exec", "ev-misc-2", "sh", "-c", "echo hi > /tmp/f; exit 4").returncode == 4
    image_id = engine.commit(container_id, "ev-committed:1", message="a note")
    assert moor("cp", "ev-misc-2:/tmp/f", str(tmp_path / "f"), check=True)
    assert moor("cp", str(tmp_path / "f"), "ev-misc-2:/tmp/g", check=True)
    from runtime.image import archive
    archive.export(engine, engine.container(container_id), io.BytesIO())
    engine.kill(container_id, "USR1")
    mine = [event for event in journal(engine, since) if event["Actor"]["ID"] == container_id]
    assert [event["Action"].split(":")[0] for event in mine] == [
        "create", "start", "pause", "unpause", "rename", "exec_create", "exec_start",
        "exec_die", "commit", "archive-path", "extract-to-dir", "export", "kill"]
    by_action = {event["Action"].split(":")[0]: event["Actor"]["Attributes"] for event in mine}
    assert by_action["rename"]["oldName"] == "/ev-misc" and by_action["rename"]["name"] == \
        "ev-misc-2"
    assert mine[5]["Action"] == "exec_create: sh -c echo hi > /tmp/f; exit 4"
    assert by_action["exec_create"]["execID"] == by_action["exec_die"]["execID"]
    assert len(by_action["exec_die"]["execID"]) == 64
    assert by_action["exec_die"]["exitCode"] == "4"
    assert by_action["commit"] == {"image": "busybox", "name": "ev-misc-2",
                                   "comment": "a note", "imageID": image_id,
                                   "imageRef": "ev-committed:1"}
    assert by_action["kill"]["signal"] == "10"
    tag = journal(engine, since, type="image", event="tag")[-1]
    assert tag["id"] == image_id and tag["Actor"]["Attributes"]["name"] == "ev-committed:1"
    engine.remove(container_id, force=True)
    engine.remove_image("ev-committed:1")


def test_attach_is_journaled_for_an_attached_run(engine, moor):
    since = time.time_ns()
    result = moor("run", "--name", "ev-attached", "busybox", "echo", "hello", check=True)
    assert result.stdout == "hello\n"
    container_id = engine.container("ev-attached").id
    assert settled(engine, since, container_id, "die") == ["create", "attach", "start", "die"]
    engine.remove(container_id)


def test_image_events_as_dockers_daemon_logs_them(engine, tmp_path):
    since = time.time_ns()
    image_id = engine.image_id("busybox")
    engine.tag("busybox", "ev-img:1")
    engine.tag("busybox", "ev-img:2")
    assert engine.remove_image("ev-img:1") == [{"Untagged": "ev-img:1"}]
    saved = tmp_path / "saved.tar"
    from runtime.image import archive
    with open(saved, "wb") as out:
        archive.save(engine, ["ev-img:2"], out)
    with open(saved, "rb") as stream:
        archive.load(engine, stream)
    imported = archive.import_tar(engine, _layer_tar(), "ev-imported:1")
    engine.remove_image("ev-imported:1")
    engine.remove_image("ev-img:2")
    images = [(event["Action"], event["Actor"]["ID"], event["Actor"]["Attributes"].get("name"))
              for event in journal(engine, since, type="image")]
    assert images == [
        ("tag", image_id, "ev-img:1"),
        ("tag", image_id, "ev-img:2"),
        ("untag", image_id, image_id),
        ("save", image_id, image_id),
        ("load", image_id, image_id),
        ("tag", imported, "ev-imported:1"),
        ("import", imported, imported),
        ("untag", imported, imported),
        ("delete", imported, imported),
        ("untag", image_id, image_id),
    ]
    untag = journal(engine, since, type="image", event="untag")[0]
    assert untag["status"] == "untag" and untag["id"] == image_id and "from" not in untag


def _layer_tar():
    import tarfile
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = b"hello\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_a_build_journals_its_steps_containers_and_its_tag(engine, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n")
    since = time.time_ns()
    image_id = engine.build(str(tmp_path), tags=["ev-built:1"])
    seen = [(event["Type"], event["Action"]) for event in journal(engine, since)
            if event["Type"] in ("container", "image")]
    assert seen == [("container", "create"), ("container", "start"), ("container", "die"),
                    ("container", "commit"), ("container", "destroy"), ("image", "tag")]
    assert journal(engine, since, type="image")[0]["Actor"]["ID"] == image_id
    engine.remove_image("ev-built:1")


def test_network_events_with_their_attributes(engine):
    paths = engine.paths
    since = time.time_ns()
    made = create_network(paths, "ev-net")
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING, "name": "member-of-ev"})
    try:
        connect(paths, "ev-net", NetworkRequest(container_id=container_id, name="member-of-ev",
                                                hostname=container_id[:12], mode="ev-net"))
        disconnect(paths, "ev-net", container_id)
    finally:
        engine.remove(container_id, force=True)
        remove_network(paths, "ev-net")
    mine = [(event["Action"], event["Actor"]["Attributes"].get("container"))
            for event in journal(engine, since, network="ev-net")]
    assert mine == [("create", None), ("connect", container_id), ("disconnect", container_id),
                    ("destroy", None)]
    create = journal(engine, since, network="ev-net")[0]
    assert create["Actor"] == {"ID": made["Id"], "Attributes": {"name": "ev-net",
                                                                 "type": "bridge"}}


def test_a_terminal_session_is_exec_create_start_and_die_from_its_exit_command(engine):
    from runtime.container import sessions
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING})
    session, sock = sessions.start(engine, engine.container(container_id), "5e55" * 4,
                                   cmd=["sh", "-c", "exit 5"])
    sock.close()
    wait_until(lambda: "exec_die" in actions(engine, since, container_id),
               what="the session's exec_die")
    execs = [event for event in journal(engine, since, container=container_id)
             if event["Action"].startswith("exec")]
    assert [event["Action"] for event in execs] == [
        "exec_create: sh -c exit 5", "exec_start: sh -c exit 5", "exec_die"]
    assert {event["Actor"]["Attributes"]["execID"] for event in execs} == {session.id}
    assert execs[-1]["Actor"]["Attributes"]["exitCode"] == "5"
    engine.remove(container_id, force=True)


@pytest.fixture(scope="module")
def registry():
    """Debian's docker-registry on a free loopback port (see registry_fixture.py)."""
    from tests.runtime.registry_fixture import Registry
    the_registry = Registry()
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


def test_push_and_pull_are_journaled_by_reference(engine, registry):
    reference = f"{registry.address}/ev-{os.getpid()}/app:1"
    since = time.time_ns()
    image_id = engine.image_id("busybox")
    engine.tag("busybox", reference)
    engine.push(reference)
    engine.remove_image(reference)
    assert engine.pull(reference) == image_id
    engine.remove_image(reference)
    seen = [(event["Action"], event["Actor"]["ID"], event["Actor"]["Attributes"]["name"])
            for event in journal(engine, since, type="image")]
    name = reference.rsplit(":", 1)[0]
    assert seen == [("tag", image_id, reference), ("push", reference, name),
                    ("untag", image_id, image_id), ("pull", reference, name),
                    ("untag", image_id, image_id)]
