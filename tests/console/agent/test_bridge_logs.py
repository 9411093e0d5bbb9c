"""The bridge's incremental reader of conmon's k8s-file logs: lines in offset order, pieces
joined, the two streams' unfinished lines held back or released, and resume positions that
give every line exactly once, wherever a stream is cut."""
import os
import time

from console.agent import bridge_logs
from console.agent.bridge_logs import LogReader

T = b"2026-11-29T05:00:02.319614317+00:00"


def record(stream: str, tag: str, text: str) -> bytes:
    return T + f" {stream} {tag} {text}\n".encode()


def write(path, *records) -> list[int]:
    """Append records; return the offset of each."""
    offsets = []
    with open(path, "ab") as file:
        for item in records:
            offsets.append(file.tell())
            file.write(item)
    return offsets


def read_all(reader, max_lines=1000) -> list:
    lines = []
    while reader.read(7):                   # small reads: records cut everywhere
        pass
    while True:
        taken = reader.take(max_lines, 1 << 20)
        if not taken:
            return lines
        lines += taken


def texts(lines):
    return [(stream, text, partial) for _, stream, _, text, partial in lines]


def test_pieces_are_joined_and_a_line_is_at_its_first_record(tmp_path):
    log = tmp_path / "ctr.log"
    offsets = write(log, record("stdout", "F", "one"), record("stdout", "P", "tw"),
                    record("stdout", "F", "o"), record("stderr", "F", "oops"))
    lines = read_all(LogReader(str(log)))
    assert texts(lines) == [("out", "one", False), ("out", "two", False),
                            ("err", "oops", False)]
    assert [line[0] for line in lines] == [offsets[0], offsets[1], offsets[3]]
    assert lines[0][2] == "2026-11-29T05:00:02.319614317Z"


def test_a_line_waits_behind_the_other_streams_unfinished_line(tmp_path):
    log = tmp_path / "ctr.log"
    offsets = write(log, record("stdout", "P", "progress "), record("stderr", "F", "warn"))
    reader = LogReader(str(log))
    assert read_all(reader) == []           # "warn" comes after an unfinished line
    assert reader.cursor() == f"{offsets[0]}:{offsets[1]}"
    write(log, record("stdout", "F", "done"))
    lines = read_all(reader)
    assert texts(lines) == [("out", "progress done", False), ("err", "warn", False)]
    assert [line[0] for line in lines] == sorted(line[0] for line in lines)


def test_an_unfinished_line_held_too_long_goes_out_as_it_is(tmp_path, monkeypatch):
    log = tmp_path / "ctr.log"
    write(log, record("stdout", "P", "50%"), record("stderr", "F", "warn"))
    reader = LogReader(str(log))
    read_all(reader)
    monkeypatch.setattr(bridge_logs, "HOLD_SECONDS", 0.01)
    time.sleep(0.02)
    reader.release_stale()
    assert texts(read_all(reader)) == [("out", "50%", True), ("err", "warn", False)]
    write(log, record("stdout", "F", " 100%"))
    assert texts(read_all(reader)) == [("out", " 100%", False)]


def test_resuming_from_any_cursor_gives_every_line_exactly_once(tmp_path):
    log = tmp_path / "ctr.log"
    write(log, record("stdout", "F", "a"), record("stdout", "P", "b1 "),
          record("stderr", "P", "x1 "), record("stdout", "F", "b2"), record("stderr", "F", "x2"),
          record("stderr", "F", "y"), record("stdout", "P", "c1 "), record("stdout", "P", "c2 "),
          record("stderr", "F", "z"), record("stdout", "F", "c3"), record("stdout", "F", "d"))
    everything = texts(read_all(LogReader(str(log))))
    assert everything == [("out", "a", False), ("out", "b1 b2", False),
                          ("err", "x1 x2", False), ("err", "y", False),
                          ("out", "c1 c2 c3", False), ("err", "z", False),
                          ("out", "d", False)]
    # Stop after each line (and mid-file, by bytes read), resume from the cursor.
    size = log.stat().st_size
    for limit in range(1, size + 1, 3):
        for lines_before_stop in range(0, len(everything) + 1):
            reader = LogReader(str(log))
            reader.read(limit)
            got = reader.take(lines_before_stop, 1 << 20)
            cursor = reader.cursor()
            got += read_all(LogReader.resuming(str(log), cursor=cursor))
            assert texts(got) == everything, (limit, lines_before_stop, cursor)


def test_tail_and_after(tmp_path):
    log = tmp_path / "ctr.log"
    offsets = write(log, *(record("stdout", "F", str(n)) for n in range(10)))
    assert [t for _, t, _ in texts(read_all(LogReader.resuming(str(log), tail=3)))] == [
        "7", "8", "9"]
    assert [t for _, t, _ in texts(read_all(LogReader.resuming(str(log), after=offsets[5])))
            ] == ["6", "7", "8", "9"]
    assert read_all(LogReader.resuming(str(log), tail=0)) == []


def test_a_missing_log_reads_as_empty(tmp_path):
    reader = LogReader(str(tmp_path / "none.log"))
    assert reader.read() == 0 and reader.take(10, 100) == []
    assert reader.cursor() == "0:0"


def test_take_respects_its_limits(tmp_path):
    log = tmp_path / "ctr.log"
    write(log, *(record("stdout", "F", "x" * 100) for _ in range(50)))
    reader = LogReader(str(log))
    reader.read()
    assert len(reader.take(10, 1 << 20)) == 10
    assert len(reader.take(1000, 500)) == 4          # bytes: 148 a line
    assert reader.backlog() == 36


def test_a_rotated_log_reads_on_with_the_same_offsets(tmp_path):
    """The engine rotates logs (runtime/container/logfiles.py): lines, cursors and `after`
    go on across files as in one file."""
    from runtime.container import logfiles
    log = str(tmp_path / "ctr.log")
    logfiles.begin(log, 3)
    first = write(log, record("stdout", "F", "a"), record("stdout", "P", "b1 "))
    reader = LogReader(log)
    assert texts(read_all(reader)) == [("out", "a", False)]
    with open(log + ".tmp", "wb"):      # conmon's rotation: a new file renamed into place
        pass
    os.rename(log + ".tmp", log)
    logfiles.keep(log, 3)
    write(log, record("stdout", "F", "b2"), record("stderr", "F", "c"))
    assert texts(read_all(reader)) == [("out", "b1 b2", False), ("err", "c", False)]
    everything = read_all(LogReader(log))
    assert [line[0] for line in everything] == [first[0], first[1],
                                                first[1] + len(record("stdout", "P", "b1 "))
                                                + len(record("stdout", "F", "b2"))]
    assert texts(read_all(LogReader.resuming(log, after=first[0]))) == [
        ("out", "b1 b2", False), ("err", "c", False)]
    assert texts(read_all(LogReader.resuming(log, tail=2))) == [("out", "b1 b2", False),
                                                                ("err", "c", False)]
