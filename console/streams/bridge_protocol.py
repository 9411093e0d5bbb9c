"""The protocol between the web process and a host's stream bridge. Each side is written once:
the web side's messages are sent by `bridge_client` (a log stream, a terminal session), the
bridge's by `console/agent/bridge.py` and the modules beside it.

The bridge (`console/agent/bridge.py`, one per host, next to the host's worker) holds one
websocket to the console, `/ws/agent/` (`consumers/agent.py`, which documents the framing).
The web side sends its messages to the channel that socket reads, `groups.agent_channel(host)`,
only after it has checked the user's permission on the container, so the bridge acts on what
it receives without asking again. Every message names the container by its 64-hex engine ID
and carries `reply_to`, the web-side channel that receives the answers (a consumer's own
channel, or one made for an HTTP response); the agent's socket hands the bridge a peer for
it instead (`peers`), which the bridge answers, and delivers an answer only to a peer of its
host. The bridge's answers are the types in FROM_BRIDGE; nothing else from a host reaches the
Channels layer.

Web → bridge (`type`, then fields):

    bridge.terminal.open    session, container, mode ("exec" | "attach"), command (list or
                            null: the container's shell), user (or ""), rows, cols, resume
                            (true: attach to the existing session `session`), reply_to
    bridge.terminal.input   session, data (bytes)
    bridge.terminal.resize  session, rows, cols
    bridge.terminal.ack     session, position (output bytes the browser has processed)
    bridge.terminal.detach  session (the socket went away; the session waits to be resumed)
    bridge.terminal.close   session (end it now: hang up the terminal)
    bridge.logs.start       stream, container, tail (int or null), cursor (resume position or
                            null), after (resume after this line offset, or null), follow
                            (bool), reply_to
    bridge.logs.ack         stream, batch (the number of the last batch handled)
    bridge.logs.stop        stream
    bridge.ping             sessions, streams (lists): the sender is alive

Bridge → web (the handlers' names on the consumers are these with "." → "_"):

    terminal.opened     session, mode, command, user, resumed, replay (bytes), start, end
                        (the replay's stream positions; output positions count every byte
                        the session has written since it started)
    terminal.output     session, data (bytes), end (stream position after `data`)
    terminal.skipped    session, bytes (output dropped: the browser fell too far behind)
    terminal.input_ack  session, written (input bytes written to the terminal so far on this
                        attachment)
    terminal.exit       session, code
    terminal.taken      session (another socket resumed the session)
    terminal.error      session, message (one line, for the user)
    logs.batch          stream, batch (1, 2, ...), lines ([offset, "out"|"err", time, text,
                        partial]), cursor (resume position after these lines)
    logs.end            stream, cursor (the container's program ended and everything was sent)
    logs.error          stream, message
    logs.lost           stream (a ping named a stream the bridge does not have)

Flow control: the bridge always drains the container (conmon blocks a container whose
attach client stops reading). It sends a terminal's output only while less than
TERMINAL_WINDOW bytes are unacknowledged and keeps at most TERMINAL_BUFFER bytes for a slow
reader, dropping the oldest beyond that (`terminal.skipped`); it keeps at most LOGS_WINDOW
log batches unacknowledged, leaving the rest in the log file. A session or stream whose web
side has not been heard from for PEER_TIMEOUT seconds is treated as gone.
"""
import re

FROM_BRIDGE = frozenset({
    "terminal.opened", "terminal.output", "terminal.skipped", "terminal.input_ack",
    "terminal.exit", "terminal.taken", "terminal.error", "logs.batch", "logs.end", "logs.error",
    "logs.lost"})

TERMINAL_WINDOW = 1 << 20
TERMINAL_BUFFER = 1 << 20
TERMINAL_REPLAY = 64 * 1024
MAX_MESSAGE = 64 * 1024          # output bytes per terminal.output message
MAX_INPUT = 32 * 1024            # input bytes per bridge.terminal.input message
LOGS_WINDOW = 4
LOGS_BATCH_LINES = 2000
LOGS_BATCH_BYTES = 256 * 1024
PING_SECONDS = 10
PEER_TIMEOUT = 35

MODES = ("exec", "attach")
MAX_TAIL = 1_000_000
CURSOR = re.compile(r"^\d{1,18}:\d{1,18}$")


def logs_start(request: dict) -> dict:
    """Where a log stream starts, from what a page or client asked (`cursor`, `after` or
    `tail`; none of them: the whole log). Raises ValueError with a one-line reason."""
    cursor, after, tail = (request.get(key) for key in ("cursor", "after", "tail"))
    start = {"cursor": None, "after": None, "tail": None}
    if cursor not in (None, ""):
        if not CURSOR.match(str(cursor)):
            raise ValueError("a cursor is two offsets, <stdout>:<stderr>")
        start["cursor"] = str(cursor)
    elif after not in (None, ""):
        try:
            start["after"] = int(after)
        except (TypeError, ValueError):
            raise ValueError("after is a line offset (a number)") from None
        if start["after"] < 0:
            raise ValueError("after is a line offset (a number)")
    elif tail not in (None, "", "all"):
        try:
            start["tail"] = int(tail)
        except (TypeError, ValueError):
            raise ValueError("tail is a number of lines, or all") from None
        if not 0 <= start["tail"] <= MAX_TAIL:
            raise ValueError(f"tail is 0 to {MAX_TAIL} lines")
    return start
