"""Container logs: streams told apart, timestamps, tail, since, follow, partial lines, floods."""

import subprocess
import sys
import threading
import time

import pytest

pytestmark = [pytest.mark.privileged, pytest.mark.usefixtures("each_runtime")]


def test_stdout_and_stderr_are_kept_apart(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "echo one; echo two >&2; echo three"]})
    engine.wait(container_id)
    records = list(engine.logs(container_id))
    # Each stream keeps its order; between the two pipes only the timestamps order them.
    assert [r.data for r in records if r.stream == "stdout"] == [b"one\n", b"three\n"]
    assert [r.data for r in records if r.stream == "stderr"] == [b"two\n"]
    result = moor("logs", container_id)
    assert result.stdout == "one\nthree\n"
    assert result.stderr == "two\n"


def test_timestamps_are_rfc3339_nanoseconds_utc(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["echo", "stamped"]})
    engine.wait(container_id)
    line = moor("logs", "-t", container_id).stdout.strip()
    stamp, text = line.split(" ", 1)
    assert text == "stamped"
    assert stamp.endswith("Z") and "T" in stamp
    assert len(stamp.split(".")[1]) == 10  # nine digits and the Z


def test_tail_and_since(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 1.2; echo late"]})
    engine.wait(container_id)
    assert moor("logs", "--tail", "2", container_id).stdout == "line5\nlate\n"
    assert moor("logs", "-n", "0", container_id).stdout == ""
    assert moor("logs", "--since", "1s", container_id).stdout == "late\n"
    assert moor("logs", "--since", "bogus", container_id).returncode == 1


def test_follow_streams_while_the_container_writes_and_ends_with_it(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "for i in $(seq 1 10); do echo tick$i; sleep 0.1; done"]})
    follower = subprocess.Popen(
        [sys.executable, "-m", "runtime", "logs", "-f", container_id],
        env={"MOORAGE_ROOT": engine.paths.root, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, text=True)
    # The rest is read from the same buffered file: `communicate` would read the pipe
    # beneath it and lose what `readline` already took in with the first line.
    watchdog = threading.Timer(30, follower.kill)
    watchdog.start()
    try:
        first = follower.stdout.readline()
        assert first == "tick1\n"
        rest = follower.stdout.read()
        assert follower.wait() == 0
    finally:
        watchdog.cancel()
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert (first + rest).split() == [f"tick{i}" for i in range(1, 11)]


def test_partial_lines_are_joined(engine):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "printf 'no newline yet'; sleep 0.3; echo ' ...now'; "
                    "head -c 20000 /dev/zero | tr '\\0' x; echo; printf tail"]})
    engine.wait(container_id)
    records = list(engine.logs(container_id))
    assert records[0].data == b"no newline yet ...now\n"
    assert records[1].data == b"x" * 20000 + b"\n"
    assert records[2].data == b"tail"


def test_offsets_are_a_gap_free_sequence_to_resume_from(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["seq", "1", "100"]})
    engine.wait(container_id)
    records = list(engine.logs(container_id))
    offsets = [r.offset for r in records]
    assert offsets == sorted(set(offsets))
    resumed = list(engine.logs(container_id, after_offset=records[49].offset))
    assert [r.data for r in resumed] == [r.data for r in records[50:]]


def test_a_flooding_container_is_not_blocked_and_nothing_is_lost(engine):
    started = time.monotonic()
    container_id = engine.run({"image": "busybox", "cmd": ["seq", "1", "200000"]})
    assert engine.wait(container_id) == 0
    assert time.monotonic() - started < 30
    count = 0
    for count, record in enumerate(engine.logs(container_id), 1):
        if count in (1, 200000):
            assert record.data == f"{count}\n".encode()
    assert count == 200000


def test_tty_output_is_logged_as_stdout(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "echo tty; echo e >&2"],
                               "tty": True})
    engine.wait(container_id)
    records = list(engine.logs(container_id))
    assert {r.stream for r in records} == {"stdout"}
    assert b"tty" in b"".join(r.data for r in records)
