"""`tail_offset`: where the last N lines of a conmon log begin, also when the first line of
the file is one of them or just before them (no container needed)."""

from runtime.container.logs import tail_offset


def tail_text(path, count: int) -> list[str]:
    """The lines a reader starting at tail_offset sees (it skips the empty remainder of a
    line it starts on the newline of)."""
    data = path.read_bytes()[tail_offset(str(path), count):]
    return [line.split(" ", 3)[3] for line in data.decode().splitlines() if line]


def test_the_last_lines_of_a_short_log(tmp_path):
    log = tmp_path / "ctr.log"
    log.write_text("".join(f"2026-01-01T00:00:0{i}.000000000+00:00 stdout F {text}\n"
                           for i, text in enumerate("abc")))
    assert tail_text(log, 2) == ["b", "c"]
    assert tail_text(log, 1) == ["c"]
    assert tail_text(log, 3) == ["a", "b", "c"]
    assert tail_text(log, 5) == ["a", "b", "c"]
    assert tail_text(log, 0) == []
