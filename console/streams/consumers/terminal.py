"""`/ws/containers/{id}/terminal/`: a terminal into a container, served by its host's bridge.

Refused before `accept()`: anonymous 4401; a container the user cannot see 4404 (as if it did
not exist); no `terminal` permission (operator, or a grant) 4403; a foreign Origin never gets
here (`OriginCheck`). Refusals of a visible or existing container are audited.

The query string says what to open:
    mode=exec|attach   exec (default): a shell or `command` in the running container;
                       attach: the main process of a container started with -t
    command=...        exec only: the command line to run instead of the shell
    user=...           exec only: the user inside (`name|uid[:group|gid]`); the team's pinned
                       terminal user, when set, is used whatever is asked
    cols=, rows=       the terminal's size (default 80x24)
    session=<32 hex>   resume that session (the page keeps the ID of the one it opened)
    reason=...         why (kept in the audit entry); a team may require one for a terminal
                       that runs as root (`console.teams.reasons`), else 4400

Frames, the same for the page's terminal and for scripts: binary frames are raw terminal
bytes both ways. Text frames are JSON:
    browser → server   {"type": "resize", "cols": C, "rows": R}
                       {"type": "ack", "bytes": N}   output bytes processed so far on this
                                                     socket, the replay included (flow control)
                       {"type": "close"}             end the session (hang up the terminal)
                       {"type": "pong"}
                       Control messages sent before the `session` frame are held (at most
                       16) and applied, in order, when the session opens; terminal bytes
                       sent before it are dropped.
    server → browser   {"type": "session", "id", "mode", "command", "user", "pinned",
                        "resumed", "replay": bytes of replay in the next binary frame}
                       {"type": "exit", "code": N}   the process ended (then the socket closes)
                       {"type": "input-ack", "written": N}   input bytes written to the
                                                     terminal (pastes wait for these)
                       {"type": "skipped", "bytes": N}   output dropped: the page fell behind
                       {"type": "ping"}              every PING_SECONDS; answer with pong
                       {"type": "taken"}             another socket resumed the session
                       {"type": "error", "message": "..."}
Close codes: 1000 after exit, 4400 bad request, 4401 logged out (or the API token revoked),
4403 permission lost, 4409 taken, 4410 the session to resume has ended, 1011 the host did not
answer (the close codes of `console.core.errors`).
"""
import asyncio
import json
import re
import secrets
import shlex
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from console.core import parsers
from console.core.errors import ConsoleError, Gone, HostSilent, Invalid
from console.streams import access, bridge_protocol as protocol, terminal_sessions
from console.streams.bridge_client import TerminalClient
from console.streams.casts import CastRecorder
from console.streams.consumers.user_groups import UserGroupsMember
from console.streams.models import TerminalSession
from console.teams.reasons import clean_reason, requires_reason

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
OPEN_TIMEOUT = 15.0
RECHECK_SECONDS = 30.0
SEEN_EVERY = 3          # pings between `seen_at` updates
MAX_COMMAND = 2000
MAX_HELD = 16          # control messages kept until the session opens


def terminal_options(query: dict, container) -> dict:
    """What the query string asks for, checked; raises Invalid with a one-line reason."""
    from console.teams.models import CONTAINER_USER_PATTERN

    def one(name, default=""):
        return (query.get(name) or [default])[0]

    mode = one("mode", "exec")
    if mode not in protocol.MODES:
        raise Invalid("mode is exec or attach")
    try:
        cols, rows = int(one("cols", "80")), int(one("rows", "24"))
    except ValueError:
        raise Invalid("cols and rows are numbers") from None
    if not (1 <= cols <= 1000 and 1 <= rows <= 1000):
        raise Invalid("cols and rows are between 1 and 1000")
    session = one("session")
    if session and not SESSION_ID.match(session):
        raise Invalid("a session ID is 32 hex digits")
    command_text = one("command").strip()
    if len(command_text) > MAX_COMMAND:
        raise Invalid(f"the command is longer than {MAX_COMMAND} characters")
    try:
        command = shlex.split(command_text) if command_text else []
    except ValueError as error:
        raise Invalid(f"cannot read the command: {error}") from None
    user = one("user").strip()
    if user and not CONTAINER_USER_PATTERN.match(user):
        raise Invalid("the user is a name or a number, optionally with a group "
                         "(app, 1000, app:staff)")
    pinned = container.team.terminal_user if container.team_id else ""
    if mode == "attach":
        if command or user:
            raise Invalid("attach runs nothing: no command or user")
    elif pinned:
        user = pinned
    reason = clean_reason(one("reason"))
    if (not session and not reason and runs_as_root(mode, user, container)
            and requires_reason(container.team, "terminal-root")):
        raise Invalid(f"Team {container.team.name} requires a reason for a terminal as root: "
                      "say why (reason=...)")
    return {"mode": mode, "cols": cols, "rows": rows, "session": session, "command": command,
            "user": user, "pinned": bool(pinned) and mode == "exec", "reason": reason}


def runs_as_root(mode: str, user: str, container) -> bool:
    """Whether the terminal's process runs as root: the user asked for (exec), else the
    container's own (its image's, or the one it was run with), root when none is set."""
    own = ((container.inspect_data or {}).get("Config") or {}).get("User") \
        or (container.options or {}).get("user") or ""
    effective = user if mode == "exec" and user else own
    return effective.split(":", 1)[0] in ("", "root", "0")


class TerminalConsumer(UserGroupsMember, AsyncWebsocketConsumer):
    async def connect(self):
        self.joined, self.row, self.recorder, self.opened = [], None, None, False
        self.session_id, self.terminal = None, None
        self.ended, self.tasks, self.held = False, [], []
        if not await self.admit("terminal", audit_refusal=True):
            return
        self.request = terminal_sessions.ScopeRequest(self.scope)
        try:
            self.options = terminal_options(parse_qs(self.scope.get("query_string", b"").decode()),
                                            self.container)
            if self.options["session"]:
                await self.check_resumable(self.options["session"])
        except ConsoleError as error:     # a bad query (4400), a session that has ended (4410)
            await self.fail(error.message, code=error.close_code)
            return
        self.session_id = self.options["session"] or secrets.token_hex(16)
        self.terminal = TerminalClient(self.channel_layer, self.container, self.channel_name,
                                       self.session_id)
        await self.terminal.open(mode=self.options["mode"], command=self.options["command"],
                                 user=self.options["user"], rows=self.options["rows"],
                                 cols=self.options["cols"], resume=bool(self.options["session"]))
        self.tasks = [asyncio.ensure_future(self.wait_opened()),
                      asyncio.ensure_future(self.keep_alive())]

    @database_sync_to_async
    def check_resumable(self, session_id: str) -> None:
        row = TerminalSession.objects.filter(pk=session_id, user=self.user,
                                             container=self.container).first()
        if row is None:
            raise Gone("No such session.")
        if row.ended_at is not None:
            raise Gone("That session has ended.")
        if row.mode != self.options["mode"]:
            raise Invalid("the session was opened in another mode")

    async def fail(self, message: str, code: int) -> None:
        await self.send(text_data=json.dumps({"type": "error", "message": message}))
        await self.close(code=code)

    async def wait_opened(self) -> None:
        await asyncio.sleep(OPEN_TIMEOUT)
        if not self.opened and not self.ended:
            self.ended = True
            silent = HostSilent(f"Host {self.container.host.name} did not answer: its stream "
                                "bridge may not be running.")
            if not self.options["session"]:
                await database_sync_to_async(terminal_sessions.refused)(
                    user=self.user, container=self.container, mode=self.options["mode"],
                    exec_user=self.options["user"], error=silent.message, request=self.request)
            await self.fail(silent.message, code=silent.close_code)

    async def keep_alive(self) -> None:
        count, last_check = 0, time.monotonic()
        while True:
            await asyncio.sleep(protocol.PING_SECONDS)
            count += 1
            await self.terminal.ping()
            await self.send(text_data='{"type": "ping"}')
            if self.row is not None and count % SEEN_EVERY == 0:
                await database_sync_to_async(terminal_sessions.save_position)(
                    self.session_id, self.recorder.recorded_until if self.recorder else 0,
                    detached=False)
            if time.monotonic() - last_check >= RECHECK_SECONDS:
                last_check = time.monotonic()
                await self.recheck()

    # -- from the browser -------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.ended:
            return
        if bytes_data is not None:
            if self.opened:         # typed before the session opened: nowhere to go yet
                await self.input(bytes_data)
            return
        if not self.opened:
            await self.hold(text_data)
            return
        await self.control(text_data)

    async def input(self, data: bytes) -> None:
        if self.recorder:
            self.recorder.input(data)
        await self.terminal.input(data)

    async def hold(self, text_data) -> None:
        """A control message that came before the session opened (a client may size its
        terminal as soon as the socket is open): applied, in order, when it opens."""
        if len(self.held) >= MAX_HELD:
            await self.send(text_data=json.dumps({
                "type": "error",
                "message": f"at most {MAX_HELD} control messages before the session opens"}))
            return
        self.held.append(text_data)

    async def control(self, text_data) -> None:
        try:
            message = parsers.frame(text_data)
        except ValueError as error:
            await self.send(text_data=json.dumps({"type": "error", "message": str(error)}))
            return
        kind = message.get("type")
        if kind == "resize":
            cols, rows = message.get("cols"), message.get("rows")
            if not all(isinstance(value, int) and 1 <= value <= 1000 for value in (cols, rows)):
                await self.send(text_data=json.dumps({
                    "type": "error", "message": "resize takes cols and rows (1-1000)"}))
                return
            if self.recorder:
                self.recorder.resize(cols, rows)
            await self.terminal.resize(cols, rows)
        elif kind == "ack" and isinstance(message.get("bytes"), int):
            # Positions count the bytes skipped for the page as well as those it showed.
            await self.terminal.acknowledge(self.stream_start + self.skipped + message["bytes"])
        elif kind == "close":
            self.closing_reason = "closed"
            await self.terminal.close()
        elif kind != "pong":
            await self.send(text_data=json.dumps({"type": "error",
                                                  "message": f"unknown message {kind!r}"}))

    # -- from the bridge --------------------------------------------------------------------

    def ours(self, event) -> bool:
        return self.terminal is not None and self.terminal.ours(event) and not self.ended

    async def terminal_opened(self, event):
        if not self.ours(event):
            return
        self.opened = True
        self.stream_start, self.skipped = event["start"], 0
        if event["resumed"]:
            self.row = await database_sync_to_async(TerminalSession.objects.get)(
                pk=self.session_id)
            self.recorder = await database_sync_to_async(CastRecorder.reopen)(self.row)
            await database_sync_to_async(terminal_sessions.save_position)(
                self.session_id, self.row.recorded_until, detached=False)
        else:
            self.row = await database_sync_to_async(terminal_sessions.begin)(
                self.session_id, user=self.user, container=self.container,
                mode=event["mode"], command=event["command"], exec_user=event["user"],
                cols=self.options["cols"], rows=self.options["rows"], request=self.request,
                reason=self.options["reason"])
            self.recorder = await database_sync_to_async(self.start_recording)(event)
        if self.recorder and event["replay"]:
            self.recorder.output(event["replay"], event["end"])
        await self.send(text_data=json.dumps({
            "type": "session", "id": self.session_id, "mode": event["mode"],
            "command": event["command"], "user": event["user"],
            "pinned": self.options["pinned"], "resumed": event["resumed"],
            "replay": len(event["replay"])}))
        if event["replay"]:
            await self.send(bytes_data=event["replay"])
        held, self.held = self.held, []
        for text_data in held:
            await self.control(text_data)

    def start_recording(self, event) -> CastRecorder:
        container = self.container
        title = f"{self.user.username} on {container.display_name} ({container.host.name})"
        recorder = CastRecorder.create(self.row, title=title,
                                       shell=(event["command"] or [""])[0])
        TerminalSession.objects.filter(pk=self.row.pk).update(recording=self.row.recording)
        return recorder

    async def terminal_output(self, event):
        if not self.ours(event):
            return
        if self.recorder:
            self.recorder.output(event["data"], event["end"])
        await self.send(bytes_data=event["data"])

    async def terminal_skipped(self, event):
        if self.ours(event):
            self.skipped += event["bytes"]
            if self.recorder:
                self.recorder.skipped(event["bytes"])
            await self.send(text_data=json.dumps({"type": "skipped", "bytes": event["bytes"]}))

    async def terminal_input_ack(self, event):
        if self.ours(event):
            await self.send(text_data=json.dumps({"type": "input-ack",
                                                  "written": event["written"]}))

    async def terminal_exit(self, event):
        if not self.ours(event):
            return
        reason = getattr(self, "closing_reason", "exited")
        await self.end(reason, exit_code=event["code"])
        await self.send(text_data=json.dumps({"type": "exit", "code": event["code"]}))
        await self.close(code=1000)

    async def terminal_taken(self, event):
        if self.ours(event):
            self.ended = True           # the other socket serves the session now
            await self.stop_tasks()
            if self.recorder:
                self.recorder.close()
            await self.send(text_data='{"type": "taken"}')
            await self.close(code=4409)

    async def terminal_error(self, event):
        if not self.ours(event):
            return
        self.ended = True
        if not self.opened and not self.options["session"]:
            await database_sync_to_async(terminal_sessions.refused)(
                user=self.user, container=self.container, mode=self.options["mode"],
                exec_user=self.options["user"], error=event["message"], request=self.request)
        await self.fail(event["message"], code=4410 if self.options["session"] else 4400)

    # -- revocation and the end ------------------------------------------------------------

    async def recheck(self) -> None:
        lapsed = await database_sync_to_async(access.credentials_lapsed)(self.scope)
        if lapsed == "token":
            await self.token_revoked({})
            return
        if lapsed == "session":
            await self.revoke("session expired", code=access.UNAUTHENTICATED,
                              message="Your login session ended: log in again.")
            return
        allowed = await database_sync_to_async(access.still_allowed)(
            self.user, self.container.pk, "terminal")
        if not allowed:
            await self.revoke("permission revoked", code=access.FORBIDDEN,
                              message="You may no longer open a terminal on this container.")
            return
        options = getattr(self, "options", None)
        if options and options["mode"] == "exec":
            pinned = await database_sync_to_async(access.pinned_terminal_user)(
                self.container.pk)
            if pinned and pinned != options["user"]:
                await self.revoke("terminal user changed", code=access.FORBIDDEN,
                                  message=f"Terminals on this team's containers now run as "
                                          f"{pinned!r}: open the terminal again.")
                return
        await self.refresh_user_groups()

    async def permissions_changed(self, event):
        await self.recheck()

    async def session_ended(self, event):
        await self.revoke("logged out", code=access.UNAUTHENTICATED, message="Logged out.")

    async def token_revoked(self, event):
        await self.revoke("token revoked", code=access.UNAUTHENTICATED,
                          message="The API token this terminal was opened with was revoked.")

    async def revoke(self, reason: str, *, code: int, message: str) -> None:
        if self.ended:
            return
        if self.terminal is not None:
            await self.terminal.close()
        await self.end(reason)
        await self.fail(message, code=code)

    async def end(self, reason: str, exit_code=None) -> None:
        self.ended = True
        await self.stop_tasks()
        if self.recorder:
            self.recorder.close()
        if self.row is not None:
            await database_sync_to_async(terminal_sessions.finish)(
                self.session_id, reason=reason, exit_code=exit_code,
                recorded_until=self.recorder.recorded_until if self.recorder else None,
                request=self.request)

    async def stop_tasks(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()

    async def disconnect(self, code):
        await self.leave_user_groups()
        if getattr(self, "ended", True) or not getattr(self, "session_id", None):
            await self.stop_tasks()
            return
        self.ended = True
        await self.stop_tasks()
        # A session the socket never showed is ended; one it showed waits to be resumed.
        await (self.terminal.detach() if self.opened else self.terminal.close())
        if self.recorder:
            self.recorder.close()
        if self.row is not None:
            await database_sync_to_async(terminal_sessions.save_position)(
                self.session_id, self.recorder.recorded_until if self.recorder else 0,
                detached=True)
