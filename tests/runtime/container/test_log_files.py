"""A container's log across the files rotation keeps (runtime/container/logfiles.py), with
conmon's rotation done here by hand, as conmon does it (a new `ctr.log.tmp` renamed over
`ctr.log`): one gap-free sequence of offsets, resumes and tails across files, the oldest
files deleted beyond max-file, a reader undisturbed by rotation under it."""

import json
import os

from runtime.container import logfiles, logs

STAMP = "2026-11-29T05:00:02.319614317+00:00"


def record(text: str, stream: str = "stdout", tag: str = "F") -> bytes:
    return f"{STAMP} {stream} {tag} {text}\n".encode()


class Container:
    """What the log reader needs of a container: its directory and a state that ended."""

    def __init__(self, directory):
        self.dir = str(directory)
        with open(self.path("state.json"), "w") as f:
            json.dump({"Status": "exited"}, f)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)


def append(path: str, *items: bytes) -> None:
    with open(path, "ab") as f:
        for item in items:
            f.write(item)


def conmon_rotates(path: str) -> None:
    with open(path + ".tmp", "wb"):
        pass
    os.rename(path + ".tmp", path)


def offset_of(number: int) -> int:
    """Where line<number> starts in a log of line0, line1, ..."""
    return sum(len(record(f"line{i}")) for i in range(number))


def lines_of(container, **options) -> list[str]:
    return [r.data.decode().rstrip("\n") for r in logs.read(container, **options)]


def written(tmp_path, files: int = 4, per_file: int = 3, max_files: int = 10):
    """A log of `files` files of `per_file` lines each, every file linked as it began."""
    container = Container(tmp_path)
    path = container.path("ctr.log")
    logfiles.begin(path, max_files)
    number = 0
    for index in range(files):
        if index:
            conmon_rotates(path)
            logfiles.keep(path, max_files)
        for _ in range(per_file):
            append(path, record(f"line{number}"))
            number += 1
    return container, path


def test_rotated_files_read_as_one_log(tmp_path):
    container, path = written(tmp_path)
    assert lines_of(container) == [f"line{i}" for i in range(12)]
    records = list(logs.read(container))
    # One gap-free sequence: each line starts where the one before ended, across files.
    assert [r.offset for r in records] == [offset_of(i) for i in range(12)]
    assert [s.base for s in logfiles.segments(path)] == [offset_of(i) for i in (0, 3, 6, 9)]


def test_after_offset_resumes_across_files(tmp_path):
    container, _ = written(tmp_path)
    records = list(logs.read(container))
    for index in (1, 2, 3, 5, 10):
        resumed = lines_of(container, after_offset=records[index].offset)
        assert resumed == [f"line{i}" for i in range(index + 1, 12)]


def test_tail_reaches_into_older_files(tmp_path):
    container, path = written(tmp_path)
    assert lines_of(container, tail=2) == ["line10", "line11"]
    assert lines_of(container, tail=5) == [f"line{i}" for i in range(7, 12)]
    assert lines_of(container, tail=12) == [f"line{i}" for i in range(12)]
    assert lines_of(container, tail=50) == [f"line{i}" for i in range(12)]
    assert lines_of(container, tail=0) == []


def test_files_beyond_max_file_are_deleted_and_offsets_go_on(tmp_path):
    container, path = written(tmp_path, files=5, max_files=2)
    found = logfiles.segments(path)
    assert [s.base for s in found] == [offset_of(9), offset_of(12)]
    assert sorted(os.listdir(tmp_path)) == sorted([
        "ctr.log", f"ctr.log.{offset_of(12)}", "ctr.log.lock", f"ctr.log.{offset_of(9)}",
        "state.json"])
    assert lines_of(container) == [f"line{i}" for i in range(9, 15)]
    assert list(logs.read(container))[0].offset == offset_of(9)
    # A resume from a line that was deleted since goes on from the oldest kept.
    assert lines_of(container, after_offset=offset_of(2)) == [f"line{i}" for i in range(9, 15)]


def test_a_line_split_across_two_files_is_one_line(tmp_path):
    container = Container(tmp_path)
    path = container.path("ctr.log")
    logfiles.begin(path, 5)
    append(path, record("first"), record("a long li", tag="P"))
    conmon_rotates(path)
    logfiles.keep(path, 5)
    append(path, record("ne, ended", tag="F"), record("last"))
    records = list(logs.read(container))
    assert [r.data for r in records] == [b"first\n", b"a long line, ended\n", b"last\n"]
    assert records[1].offset == len(record("first"))


def test_a_reader_goes_on_across_a_rotation_under_it(tmp_path):
    container = Container(tmp_path)
    path = container.path("ctr.log")
    logfiles.begin(path, 1)
    append(path, record("one"))
    with logfiles.LogStream(path) as stream:
        at, data = stream.read(0, 1 << 20)
        assert (at, data) == (0, record("one"))
        append(path, record("two"))
        conmon_rotates(path)
        logfiles.keep(path, 1)            # max-file 1: the file being read is deleted
        append(path, record("three"))
        position = len(data)
        at, data = stream.read(position, 1 << 20)
        assert (at, data) == (position, record("two"))      # the rest of the open file
        position += len(data)
        at, data = stream.read(position, 1 << 20)
        assert (at, data) == (position, record("three"))


def test_a_file_rotated_away_before_it_was_kept_is_skipped(tmp_path):
    """The keeper too late for a whole file: its lines are lost, the offsets go on."""
    container = Container(tmp_path)
    path = container.path("ctr.log")
    logfiles.begin(path, 5)
    append(path, record("kept"))
    conmon_rotates(path)                  # not kept before it is rotated away in turn
    append(path, record("lost"))
    conmon_rotates(path)
    append(path, record("after"))
    logfiles.keep(path, 5)
    records = list(logs.read(container))
    assert [r.data for r in records] == [b"kept\n", b"after\n"]
    assert records[1].offset > records[0].offset


def test_a_start_begins_a_new_file_and_keeps_the_old(tmp_path):
    container = Container(tmp_path)
    path = container.path("ctr.log")
    logfiles.begin(path, 3)
    append(path, record("run one"))
    logfiles.begin(path, 3)
    assert os.path.getsize(path) == 0
    append(path, record("run two"))
    assert lines_of(container) == ["run one", "run two"]
    logfiles.begin(path, 3)
    logfiles.begin(path, 3)             # nothing written since the last: no new file
    assert len(logfiles.segments(path)) == 3


def test_a_log_from_before_rotation_reads_as_it_did(tmp_path):
    container = Container(tmp_path)
    path = container.path("ctr.log")
    append(path, record("old"), record("log"))
    assert [(r.offset, r.data) for r in logs.read(container)] == [
        (0, b"old\n"), (len(record("old")), b"log\n")]
    assert logs.tail_offset(path, 1) == len(record("old"))
