"""Recording terminal sessions as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
a JSON header line, then one JSON array per event, `[seconds since start, code, text]` with
code "o" (output), "i" (input), "r" (resize, "COLSxROWS") or "m" (marker).

What the user types ("i") is recorded only when MOORAGE_RECORD_TERMINAL_INPUT is on: a
password typed at a prompt that does not echo it would otherwise be stored and replayable.
The output holds what the terminal echoed, which is what the user saw.

The header says whether input is kept ("moorage_input": true/false, a key asciicast players
ignore), so the player can tell "nothing was typed" from "typing was not recorded", and a
session resumed under a changed setting goes on as it began.

The console side records (the host's bridge only relays bytes). Output is recorded by its
stream position, so the replay a resumed socket receives is not recorded twice; output that
scrolled out of the host's buffer while no socket was attached is marked as lost. A recording
stops at RECORDING_MAX_BYTES with a marker saying so.
"""
import codecs
import json
import os
import time

from django.conf import settings


def recording_dir():
    directory = settings.RECORDINGS_DIR
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory


class CastRecorder:
    def __init__(self, path, started: float, recorded_until: int, size: int,
                 record_input: bool):
        self.path = path
        self.started = started
        self.recorded_until = recorded_until
        self.size = size
        self.limit = settings.RECORDING_MAX_BYTES
        self.record_input = record_input
        self.full = size >= self.limit
        self.output_text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.input_text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.file = open(path, "a", encoding="utf-8")

    @classmethod
    def create(cls, session, *, title: str, shell: str = "") -> "CastRecorder":
        name = f"{session.id}.cast"
        path = recording_dir() / name
        started = session.started_at.timestamp()
        header = {"version": 2, "width": session.cols, "height": session.rows,
                  "timestamp": int(started), "title": title,
                  "env": {"TERM": "xterm-256color", "SHELL": shell},
                  "moorage_input": settings.RECORD_TERMINAL_INPUT}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(json.dumps(header) + "\n")
        session.recording = name
        return cls(path, started, 0, os.path.getsize(path), settings.RECORD_TERMINAL_INPUT)

    @classmethod
    def reopen(cls, session) -> "CastRecorder | None":
        path = session.recording_path
        if path is None or not path.exists():
            return None
        with open(path, encoding="utf-8") as file:
            header = json.loads(file.readline() or "{}")
        return cls(path, session.started_at.timestamp(), session.recorded_until,
                   path.stat().st_size, bool(header.get("moorage_input")))

    def event(self, code: str, text: str) -> None:
        if self.full or not text:
            return
        line = json.dumps([round(time.time() - self.started, 6), code, text],
                          ensure_ascii=False) + "\n"
        if self.size + len(line) > self.limit:
            self.full = True
            line = json.dumps([round(time.time() - self.started, 6), "m",
                               "recording stopped: size limit reached"]) + "\n"
        self.file.write(line)
        self.file.flush()
        self.size += len(line.encode())

    def output(self, data: bytes, end: int) -> None:
        """Output `data` that ends at stream position `end`; what was recorded is skipped."""
        start = end - len(data)
        if start < self.recorded_until and end < self.recorded_until and start == 0:
            # Positions only go back when the host's bridge restarted and counts again from
            # the screen it replays.
            self.marker("the host's stream bridge restarted: the screen below is replayed")
            self.recorded_until = 0
            self.output_text.reset()
        if end <= self.recorded_until:
            return
        if start > self.recorded_until:
            self.event("m", f"{start - self.recorded_until} bytes of output not recorded")
            self.output_text.reset()
        else:
            data = data[self.recorded_until - start:]
        self.recorded_until = end
        self.event("o", self.output_text.decode(data))

    def skipped(self, count: int) -> None:
        self.recorded_until += count
        self.event("m", f"{count} bytes of output skipped (the browser fell behind)")

    def input(self, data: bytes) -> None:
        if self.record_input:
            self.event("i", self.input_text.decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self.event("r", f"{cols}x{rows}")

    def marker(self, text: str) -> None:
        self.event("m", text)

    def close(self) -> None:
        tail = self.output_text.decode(b"", final=True)
        if tail:
            self.event("o", tail)
        self.file.close()


def read_events(path):
    """The header and events of a recording (for the player and tests)."""
    with open(path, encoding="utf-8") as file:
        header = json.loads(file.readline())
        events = [json.loads(line) for line in file if line.strip()]
    return header, events
