"""Log caps with real containers: `--log-opt max-size=… max-file=…` (and the host's
defaults, $MOORAGE_LOG_MAX_SIZE and $MOORAGE_LOG_MAX_FILE) cap each file through conmon,
the root's log keeper keeps max-file of them, and `logs` (all, --tail, after_offset,
-f across rotations) reads them as one log with gap-free offsets.

The container writes its lines in batches and waits on a FIFO between them, so the test
decides when the next batch comes (after the keeper kept the newest file, or after the
follower printed the batch) instead of racing the writer."""

import json
import os
import subprocess
import sys
from itertools import pairwise

import pytest

from runtime.container import logfiles, logkeeper
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MAX_SIZE = 16 << 10
BATCHES, PER_BATCH = 8, 100          # ~11 KiB a batch: at most one rotation in each
PAD = "x" * 50
# Between batches it reads "go" from the FIFO (an end of file without it, from a writer that
# was still closing, is not a go).
WRITER = ("i=0; b=0; while [ $b -lt {batches} ]; do j=0; "
          "while [ $j -lt {per} ]; do echo line-$i-{pad}; i=$((i+1)); j=$((j+1)); done; "
          "b=$((b+1)); if [ $b -lt {batches} ]; then go=; "
          "while [ \"$go\" != go ]; do read go < /ctl/next; done; fi; done")


def writer(batches=BATCHES, per=PER_BATCH) -> list[str]:
    return ["sh", "-c", WRITER.format(batches=batches, per=per, pad=PAD)]


def line(number: int) -> str:
    return f"line-{number}-{PAD}"


@pytest.fixture
def fifo(tmp_path):
    os.mkfifo(tmp_path / "next")
    return tmp_path


def release(control) -> None:
    """Let the container write its next batch, once it waits at the FIFO."""
    def reader_waits():
        try:
            return os.open(control / "next", os.O_WRONLY | os.O_NONBLOCK)
        except OSError:                 # ENXIO: nobody reads yet
            return None
    fd = wait_until(reader_waits, timeout=30, interval=0.02, what="the container to wait")
    try:
        os.write(fd, b"go\n")
    finally:
        os.close(fd)


def log_path(engine, container_id: str) -> str:
    return os.path.join(engine.paths.container(container_id), "ctr.log")


def newest_kept(engine, container_id: str) -> bool:
    """The file conmon writes is linked under its base (the keeper caught up)."""
    return logfiles.segments(log_path(engine, container_id))[-1].path != \
        log_path(engine, container_id)


def printed(engine, container_id: str, number: int) -> bool:
    return any(r.data.decode().startswith(f"line-{number}-")
               for r in engine.logs(container_id, tail=1))


def run_batches(engine, moor, control, *extra):
    result = moor("run", "-d", "--network", "none", "-v", f"{control}:/ctl",
                  "--log-opt", f"max-size={MAX_SIZE // 1024}k", "--log-opt", "max-file=3",
                  *extra, "busybox", *writer())
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_log_is_capped_rotated_and_read_as_one(engine, moor, fifo):
    container_id = run_batches(engine, moor, fifo)
    for batch in range(1, BATCHES):
        wait_until(lambda batch=batch: printed(engine, container_id, batch * PER_BATCH - 1),
                   timeout=30, interval=0.02, what=f"batch {batch}")
        wait_until(lambda: newest_kept(engine, container_id), timeout=30, interval=0.02,
                   what="the keeper to keep the newest file")
        release(fifo)
    assert engine.wait(container_id) == 0

    found = logfiles.segments(log_path(engine, container_id))
    assert len(found) == 3                                  # max-file
    assert all(segment.size <= MAX_SIZE for segment in found)
    assert [s.base for s in found[1:]] == [s.base + s.size for s in found[:-1]]
    records = list(engine.logs(container_id))
    texts = [r.data.decode().rstrip("\n") for r in records]
    last = BATCHES * PER_BATCH - 1
    first = int(texts[0].split("-")[1])
    assert first > 0                                       # the oldest files were deleted
    assert texts == [line(i) for i in range(first, last + 1)]
    assert records[0].offset == found[0].base
    assert all(b.offset == a.offset + len(a.data) + len(b"2026-11-29T05:00:02.319614317"
                                                        b"+00:00 stdout F ")
               for a, b in pairwise(records))               # gap-free
    # --tail reaches back into older files; after_offset resumes in any of them.
    tail = len(texts) - 10
    assert moor("logs", "--tail", str(tail), container_id).stdout.splitlines() == \
        texts[-tail:]
    middle = len(records) // 3
    resumed = list(engine.logs(container_id, after_offset=records[middle].offset))
    assert [r.data for r in resumed] == [r.data for r in records[middle + 1:]]
    config = json.loads(moor("inspect", container_id).stdout)[0]["HostConfig"]["LogConfig"]
    assert config == {"Type": "json-file", "Config": {"max-size": "16k", "max-file": "3"}}


def test_follow_reads_across_rotations(engine, moor, fifo):
    container_id = run_batches(engine, moor, fifo)
    follower = subprocess.Popen(
        [sys.executable, "-m", "runtime", "--root", engine.paths.root, "logs", "-f",
         container_id], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
    try:
        seen = []
        for batch in range(1, BATCHES + 1):
            while len(seen) < batch * PER_BATCH:
                text = follower.stdout.readline()
                assert text, "the follower ended early"
                seen.append(text.rstrip("\n"))
            if batch < BATCHES:
                release(fifo)
        assert follower.wait(timeout=60) == 0
        assert follower.stdout.read() == ""
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert seen == [line(i) for i in range(BATCHES * PER_BATCH)]
    assert len(logfiles.segments(log_path(engine, container_id))) == 3


def test_host_defaults_cap_every_container(engine, moor, monkeypatch):
    monkeypatch.setenv("MOORAGE_LOG_MAX_SIZE", "32k")
    monkeypatch.setenv("MOORAGE_LOG_MAX_FILE", "2")
    result = moor("run", "-d", "--network", "none", "busybox", "sleep", "100000")
    assert result.returncode == 0, result.stderr
    container_id = result.stdout.strip()
    config = json.loads(moor("inspect", container_id).stdout)[0]["HostConfig"]["LogConfig"]
    assert config["Config"] == {"max-size": "32k", "max-file": "2"}
    monitor = json.loads(open(os.path.join(engine.paths.container(container_id),
                                           "state.json")).read())["MonitorPid"]
    with open(f"/proc/{monitor}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert argv[argv.index(b"--log-size-max") + 1] == str(32 << 10).encode()


@pytest.mark.parametrize("options, message", [
    (["--log-opt", "max-size=1k"], "at least 16k"),
    (["--log-opt", "max-size=lots"], "invalid max-size"),
    (["--log-opt", "max-file=0"], "invalid max-file"),
    (["--log-opt", "compress=true"], "unknown log opt 'compress'"),
    (["--log-opt", "max-size"], "KEY=VALUE"),
])
def test_bad_log_options_are_refused(engine, moor, options, message):
    before = set(os.listdir(engine.paths.containers))
    result = moor("run", "-d", *options, "busybox", "true")
    assert result.returncode == 125
    assert message in result.stderr and "Traceback" not in result.stderr
    assert set(os.listdir(engine.paths.containers)) == before


def test_a_bad_host_default_names_the_variable(engine, moor, monkeypatch):
    monkeypatch.setenv("MOORAGE_LOG_MAX_SIZE", "huge")
    result = moor("create", "busybox", "true")
    assert result.returncode == 125
    assert "$MOORAGE_LOG_MAX_SIZE" in result.stderr


def test_each_start_writes_a_new_file_and_keeps_the_old(engine, moor):
    result = moor("run", "-d", "--network", "none", "busybox", "sh", "-c", "echo run")
    container_id = result.stdout.strip()
    engine.wait(container_id)
    engine.start(container_id)
    engine.wait(container_id)
    records = list(engine.logs(container_id))
    assert [r.data for r in records] == [b"run\n", b"run\n"]
    assert records[1].offset > records[0].offset
    assert len(logfiles.segments(log_path(engine, container_id))) == 2


def keeper_pid(engine) -> int:
    with open(logkeeper.lock_path(engine.paths)) as f:
        pid = int(f.read())
    assert logkeeper._is_keeper(pid, engine.paths.root)
    return pid


def ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] == "Z"
    except FileNotFoundError:
        return True


def test_one_keeper_per_root_until_the_root_is_removed(tmp_path):
    from runtime.api import Engine
    engine = Engine(str(tmp_path / "root"))
    engine.bootstrap_busybox()
    try:
        engine.run({"image": "busybox", "cmd": ["true"], "network": "none"})
        pid = keeper_pid(engine)
        engine.run({"image": "busybox", "cmd": ["true"], "network": "none"})
        assert keeper_pid(engine) == pid
        engine.reset()
        assert ended(pid)
        assert not os.path.exists(engine.paths.run)
        # A root deleted outside the engine ends its keeper too.
        engine = Engine(str(tmp_path / "root"))
        engine.bootstrap_busybox()
        engine.remove(engine.run({"image": "busybox", "cmd": ["true"], "network": "none"}),
                      force=True)
        pid = keeper_pid(engine)
        subprocess.run(["rm", "-rf", "--one-file-system", engine.paths.root], check=True)
        wait_until(lambda: ended(pid), timeout=30, what="the keeper to end")
    finally:
        engine.reset()
