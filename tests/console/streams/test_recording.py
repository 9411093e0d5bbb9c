"""Recording terminal sessions as asciicast v2: output by stream position (a replay is not
recorded twice), gaps and skips marked, a restarted bridge's replay, input, resizes, UTF-8
split across pieces, and the size limit. Input only when asked for."""
import pytest
from django.utils import timezone

from console.streams.casts import CastRecorder, read_events

pytestmark = pytest.mark.django_db


class Session:
    def __init__(self, directory):
        self.id = "c" * 32
        self.started_at = timezone.now()
        self.cols, self.rows = 100, 30
        self.recording = ""
        self.recorded_until = 0
        self.directory = directory

    @property
    def recording_path(self):
        return self.directory / self.recording if self.recording else None


@pytest.fixture
def session(settings, tmp_path):
    settings.RECORDINGS_DIR = tmp_path
    return Session(tmp_path)


def events_of(session):
    return [event[1:] for event in read_events(session.recording_path)[1]]


def test_what_is_typed_is_not_recorded_by_default(session):
    """A password typed at a prompt that does not echo it must not be kept."""
    recorder = CastRecorder.create(session, title="t", shell="/bin/sh")
    recorder.output(b"Password: ", 10)
    recorder.input(b"hunter2\r")
    recorder.output(b"\r\n$ ", 14)
    recorder.close()
    assert events_of(session) == [["o", "Password: "], ["o", "\r\n$ "]]
    assert "hunter2" not in session.recording_path.read_text()
    assert read_events(session.recording_path)[0]["moorage_input"] is False


def test_a_resumed_session_keeps_the_input_setting_it_began_with(session, settings):
    settings.RECORD_TERMINAL_INPUT = True
    CastRecorder.create(session, title="t").close()
    settings.RECORD_TERMINAL_INPUT = False          # the console restarted with it off
    again = CastRecorder.reopen(session)
    again.input(b"ls\r")
    again.close()
    assert events_of(session) == [["i", "ls\r"]]


def test_header_output_input_and_resize(session, settings):
    settings.RECORD_TERMINAL_INPUT = True      # MOORAGE_RECORD_TERMINAL_INPUT=1
    recorder = CastRecorder.create(session, title="t", shell="/bin/sh")
    recorder.output(b"$ ", 2)
    recorder.input(b"ls\r")
    recorder.resize(120, 40)
    recorder.output(b"caf\xc3", 6)                       # é cut in two
    recorder.output(b"\xa9\r\n", 9)
    recorder.close()
    header, _ = read_events(session.recording_path)
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert header["env"]["SHELL"] == "/bin/sh" and header["moorage_input"] is True
    assert events_of(session) == [["o", "$ "], ["i", "ls\r"], ["r", "120x40"],
                                  ["o", "caf"], ["o", "é\r\n"]]
    assert (session.recording_path.stat().st_mode & 0o777) == 0o600


def test_a_resumed_replay_is_recorded_once_and_gaps_are_marked(session):
    recorder = CastRecorder.create(session, title="t")
    recorder.output(b"abc", 3)
    recorder.close()
    session.recorded_until = recorder.recorded_until
    again = CastRecorder.reopen(session)
    again.output(b"abcdef", 6)                          # the replay: abc was recorded
    again.output(b"xyz", 20)                            # 11 bytes never seen
    again.skipped(5)
    again.close()
    assert events_of(session) == [["o", "abc"], ["o", "def"],
                                  ["m", "11 bytes of output not recorded"], ["o", "xyz"],
                                  ["m", "5 bytes of output skipped (the browser fell behind)"]]


def test_the_replay_of_a_restarted_bridge_is_recorded(session):
    recorder = CastRecorder.create(session, title="t")
    recorder.output(b"x" * 100, 100)
    recorder.output(b"screen", 6)                       # positions start again
    recorder.close()
    assert events_of(session)[-2:] == [
        ["m", "the host's stream bridge restarted: the screen below is replayed"],
        ["o", "screen"]]


def test_the_size_limit_stops_the_recording_with_a_marker(session, settings):
    settings.RECORDING_MAX_BYTES = 400
    recorder = CastRecorder.create(session, title="t")
    for position in range(1, 40):
        recorder.output(b"0123456789", position * 10)
    recorder.close()
    events = events_of(session)
    assert events[-1] == ["m", "recording stopped: size limit reached"]
    assert session.recording_path.stat().st_size < 500
