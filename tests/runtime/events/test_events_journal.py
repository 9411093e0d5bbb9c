"""The events journal itself: the shape of what is written, many processes writing at once,
rotation, replay from a time, following across rotations, filters and time formats, and a
full disk that never fails the action (this one needs root: it mounts a tiny tmpfs)."""

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading

import pytest

from runtime import events
from runtime.errors import InvalidArgument
from runtime.events import filters, journal, times
from tests.runtime.conftest import REPOSITORY
from tests.stack import wait_until

DOCKER_KEYS = ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]


@pytest.fixture
def root(tmp_path):
    return str(tmp_path)


def lines(root: str, name: str = "journal") -> list[dict]:
    with open(os.path.join(root, "events", name), "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def test_a_container_event_has_dockers_fields_in_dockers_order(root):
    emitted = events.emit(root, "container", "start", "a" * 64,
                          {"image": "busybox", "name": "web", "team": "blue"})
    (event,) = lines(root)
    assert event == emitted
    assert list(event) == DOCKER_KEYS
    assert event["status"] == event["Action"] == "start"
    assert event["id"] == event["Actor"]["ID"] == "a" * 64
    assert event["from"] == "busybox"
    assert event["Actor"]["Attributes"] == {"image": "busybox", "name": "web", "team": "blue"}
    assert event["scope"] == "local"
    assert event["time"] == event["timeNano"] // 1_000_000_000


def test_network_and_volume_events_have_no_legacy_fields(root):
    events.network(root, "connect", "b" * 64, "front", container_id="c" * 64)
    events.volume(root, "mount", "data", container_id="c" * 64, destination="/data",
                  read_write=True)
    network, volume = lines(root)
    assert list(network) == ["Type", "Action", "Actor", "scope", "time", "timeNano"]
    assert network["Actor"]["Attributes"] == {"name": "front", "type": "bridge",
                                              "container": "c" * 64}
    assert volume["Actor"] == {"ID": "data", "Attributes": {
        "driver": "local", "container": "c" * 64, "destination": "/data",
        "read/write": "true", "propagation": ""}}


def test_attribute_values_are_strings(root):
    events.emit(root, "container", "die", "a" * 64, {"exitCode": 3, "image": "busybox"})
    assert lines(root)[0]["Actor"]["Attributes"]["exitCode"] == "3"


EMITTER = """
import sys
from runtime import events
from runtime.events import journal
journal.FILE_BYTES, journal.FILES = 40_000, 1000
root, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for number in range(count):
    events.emit(root, "container", "start", f"{number:064x}", {"writer": writer,
                "padding": "x" * (number % 300)})
"""


def test_processes_writing_at_once_lose_and_mangle_nothing(root):
    writers = [subprocess.Popen([sys.executable, "-c", EMITTER, root, str(number), "400"],
                                cwd=REPOSITORY) for number in range(4)]
    for writer in writers:
        assert writer.wait(120) == 0
    names = sorted(os.listdir(os.path.join(root, "events")))
    assert "journal.1" in names, "the writers should have rotated the journal"
    everything = list(events.read(root, since=0))
    assert len(everything) == 1600
    stamps = [event["timeNano"] for event in everything]
    assert stamps == sorted(stamps), "the journal is in time order across its files"
    for writer in map(str, range(4)):
        mine = [int(event["id"], 16) for event in everything
                if event["Actor"]["Attributes"]["writer"] == writer]
        assert mine == list(range(400))


def test_rotation_keeps_a_bounded_number_of_files(root, monkeypatch):
    monkeypatch.setattr(journal, "FILE_BYTES", 2_000)
    monkeypatch.setattr(journal, "FILES", 3)
    for number in range(200):
        events.emit(root, "image", "tag", f"sha256:{number:064x}", {"name": f"app:{number}"})
    names = sorted(os.listdir(os.path.join(root, "events")))
    assert names == ["journal", "journal.1", "journal.2", "lock"]
    kept = list(events.read(root, since=0))
    numbers = [int(event["id"][7:], 16) for event in kept]
    assert numbers == list(range(numbers[0], 200)), "the newest events, with no gap"


def test_since_and_until_pick_a_window_and_older_files_are_skipped(root, monkeypatch):
    monkeypatch.setattr(journal, "FILE_BYTES", 3_000)
    monkeypatch.setattr(journal, "FILES", 50)
    written = [events.emit(root, "image", "tag", f"sha256:{n:064x}") for n in range(100)]
    since, until = written[40]["timeNano"], written[59]["timeNano"]
    window = list(events.read(root, since=f"{since // 10**9}.{since % 10**9:09d}",
                              until=f"{until // 10**9}.{until % 10**9:09d}"))
    assert [event["timeNano"] for event in window] == [e["timeNano"] for e in written[40:60]]
    assert list(events.read(root, since=written[-1]["timeNano"] / 1e9 + 1)) == []


def test_a_follower_sees_every_event_across_rotations(root, monkeypatch):
    monkeypatch.setattr(journal, "FILE_BYTES", 4_000)
    monkeypatch.setattr(journal, "FILES", 1000)
    events.emit(root, "image", "tag", "sha256:" + "0" * 64)    # before: not wanted
    stop = threading.Event()
    got = []
    follower = events.read(root, follow=True, stop=stop)
    thread = threading.Thread(target=lambda: got.extend(follower))
    thread.start()
    try:
        for number in range(300):
            events.emit(root, "container", "start", f"{number:064x}")
            if number % 50 == 49:   # let the follower catch up now and then, or not
                wait_until(lambda number=number: len(got) == number + 1, timeout=20, interval=0.01,
                           what="the follower to catch up")
        wait_until(lambda: len(got) == 300, timeout=20, what="every event")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [int(event["id"], 16) for event in got] == list(range(300))
    assert len(os.listdir(os.path.join(root, "events"))) > 10


def test_a_follower_waits_for_a_journal_that_does_not_exist_yet(root):
    stop = threading.Event()
    got = []
    # The follower's starting point is taken here, before the first event is written (in
    # the thread it could come after it, which a follower rightly leaves out).
    following = events.read(root, follow=True, stop=stop)
    thread = threading.Thread(target=lambda: got.extend(following))
    thread.start()
    try:
        events.emit(root, "network", "create", "n" * 64, {"name": "x"})
        wait_until(lambda: got, timeout=10, what="the first event")
    finally:
        stop.set()
        thread.join(10)
    assert got[0]["Action"] == "create"


def test_a_line_that_is_not_an_event_is_skipped(root):
    events.emit(root, "image", "tag", "sha256:" + "1" * 64)
    with open(os.path.join(root, "events", "journal"), "ab") as f:
        f.write(b"garbage\n")
    events.emit(root, "image", "untag", "sha256:" + "1" * 64)
    assert [event["Action"] for event in events.read(root, since=0)] == ["tag", "untag"]


def event(kind="container", action="start", actor="a" * 64, **attributes):
    return {"Type": kind, "Action": action, "scope": "local",
            "Actor": {"ID": actor, "Attributes": attributes}}


@pytest.mark.parametrize("wanted, matching, other", [
    (["type=image"], event("image", "tag"), event()),
    (["event=die", "event=start"], event(action="die"), event(action="stop")),
    (["event=health_status"], event(action="health_status: healthy"), event(action="die")),
    (["event=exec_start"], event(action="exec_start: sh -c true"), event(action="exec_die")),
    (["container=web"], event(name="web-1"), event(name="db")),
    (["container=abc"], event(actor="abc" + "0" * 61), event(actor="0" * 64)),
    (["image=busybox"], event(image="busybox:latest"), event(image="alpine")),
    (["image=app:1"], event("image", "tag", "sha256:" + "0" * 64, name="app:1"),
     event("image", "tag", "sha256:" + "0" * 64, name="app:2")),
    (["label=team"], event(team="a"), event()),
    (["label=team=a", "label=tier=db"], event(team="a", tier="db"), event(team="a", tier="x")),
    (["network=front"], event("network", "connect", "n" * 64, name="front"),
     event("network", "connect", "n" * 64, name="back")),
    (["network=front"], event("network", "connect", "n" * 64, name="front"),
     event(name="web")),
    (["volume=data"], event("volume", "mount", "data"), event("volume", "mount", "logs")),
    (["scope=local"], event(), {**event(), "scope": "swarm"}),
    (["type=container", "event=die"], event(action="die"), event("image", "die")),
])
def test_filters_follow_dockers_rules(wanted, matching, other):
    check = filters.EventFilter(wanted)
    assert check.matches(matching)
    assert not check.matches(other)


def test_filters_in_the_docker_api_forms():
    assert filters.normalize({"type": {"container": True, "image": False}}) == {
        "type": ["container"]}
    assert filters.normalize({"event": "die"}) == {"event": ["die"]}
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        filters.normalize(["colour=red"])
    with pytest.raises(InvalidArgument, match="expected name=value"):
        filters.normalize(["container"])


NOW = 1_767_366_245_000_000_000     # 2026-01-02T15:04:05Z


@pytest.mark.parametrize("text, expected", [
    ("10m", NOW - 600 * 10**9),
    ("1h30m", NOW - 5400 * 10**9),
    ("1.5s", NOW - 1_500_000_000),
    ("2026-01-02T15:04:05Z", NOW),
    ("2026-01-02T15:04:05.25Z", NOW + 250_000_000),
    ("2026-01-02T16:04:05+01:00", NOW),
    ("2026-01-02T15:04Z", NOW - 5 * 10**9),
    ("1767366245", NOW),
    ("1767366245.000000001", NOW + 1),
    ("0", 0),
])
def test_times_as_docker_reads_them(text, expected):
    assert times.parse(text, now_ns=NOW) == expected


def test_a_time_without_zone_is_local(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    import time
    time.tzset()
    try:
        assert times.parse("2026-01-02T16:04:05") == NOW
        assert times.parse("2026-01-02") == NOW - (16 * 3600 + 4 * 60 + 5) * 10**9
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_bad_time_is_refused_before_anything_is_read(root):
    with pytest.raises(InvalidArgument, match="invalid value for --since"):
        events.read(root, since="yesterday")
    with pytest.raises(InvalidArgument, match="invalid value for --until"):
        events.read(root, until="2026-13-01")


@pytest.mark.privileged
def test_a_full_disk_never_fails_the_action(caplog):
    """An engine root whose journal is on a full file system: the image is made, tagged, a
    container runs to its end and is removed; each failed write is logged and cut off, so
    the journal holds only whole events."""
    from runtime.api import Engine
    from tests.runtime.conftest import destroy_root
    engine = Engine(tempfile.mkdtemp(prefix="moorage-test-full-"))
    events_dir = journal.directory(engine.paths.root)
    os.makedirs(events_dir)
    # One page for the whole file system, filled by the first event to all but a few bytes:
    # every later line needs a page there is no room for.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "moorage-test-full", events_dir],
                   check=True)
    try:
        padding = 4096 - len(json.dumps(events.emit(engine, "image", "pull", "x", {"name": ""}),
                                        separators=(",", ":"))) - 8
        os.unlink(os.path.join(events_dir, "journal"))
        events.emit(engine, "image", "pull", "x", {"name": "p" * padding})
        kept = os.path.getsize(os.path.join(events_dir, "journal"))
        assert 4000 < kept <= 4096
        with caplog.at_level(logging.WARNING, logger="runtime.events"):
            engine.bootstrap_busybox()
            engine.tag("busybox", "mine:1")
            container_id = engine.run({"image": "mine:1", "cmd": ["sh", "-c", "exit 7"]})
            assert engine.wait(container_id) == 7
            engine.remove(container_id)
        assert "events journal: cannot record image tag" in caplog.text
        assert "cannot record container create" in caplog.text
        assert os.path.getsize(os.path.join(events_dir, "journal")) == kept
        assert [e["Action"] for e in events.read(engine, since=0)] == ["pull"]
    finally:
        subprocess.run(["umount", events_dir], check=True)
        destroy_root(engine)
