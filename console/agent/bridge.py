"""A host's stream bridge: terminals and log follows for the containers of one host.

A small asyncio process started next to each host's worker (`python -m console.agent bridge`,
run by `./moorage`), on the same engine root (`MOORAGE_ROOT`), with the same host key. It is
not the web process (which never touches the runtime) and not a Celery task (a terminal would
hold a worker slot for hours and a stop would queue behind it). It talks to the console only
over its one websocket (`link.py`): it receives the web side's messages there and answers the
peer each names. The protocol is in `console/streams/bridge_protocol.py`.

Nothing here is needed for a container or an exec session to live on: exec sessions run
under conmon, so when the bridge restarts it finds them on disk, serves them again and
replays their recent output (conmon's log of it) to whoever resumes them.
"""
import asyncio
import logging
import re
import signal
import time

from console.agent.bridge_logs import LogFollow
from console.agent.bridge_terminals import TerminalRelay
from console.agent.link import LinkEnded
from console.streams import bridge_protocol as protocol
from runtime.container import sessions as exec_sessions, state as records

log = logging.getLogger(__name__)

CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")
HOUSEKEEPING_SECONDS = 1.0
SWEEP_SECONDS = 60.0
RESUME_SECONDS = 300.0          # until the console says (`agent.hello`)


class BadMessage(Exception):
    pass


def field(message: dict, name: str, kind, required: bool = True):
    value = message.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise BadMessage(f"{message.get('type')}: {name} must be {kind.__name__}")
    return value


class Bridge:
    def __init__(self, host: str, engine, link, resume_seconds: float):
        self.host = host
        self.engine = engine
        self.link = link
        self.resume_seconds = resume_seconds
        self.terminals: dict[str, TerminalRelay] = {}
        self.follows: dict[str, LogFollow] = {}
        self.ended: dict[str, tuple] = {}      # session -> (exit code, when), for late resumes
        self.tasks = set()

    # -- running -------------------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set, or the console will not have this bridge (LinkEnded,
        raised once everything is let go)."""
        stop = stop or asyncio.Event()
        await self.adopt_sessions()
        self.spawn(self.housekeeping(stop))
        log.info("stream bridge of %s started", self.host)
        try:
            await self.link.run(self, stop)
        finally:
            await self.shut_down()

    def receive(self, message: dict) -> None:
        """One message from the console."""
        try:
            self.handle(message)
        except BadMessage as error:
            log.warning("refused a message: %s", error)
        except Exception:
            log.exception("handling a message failed")

    def link_down(self) -> None:
        """The connection to the console dropped: nobody is watching now. Terminals wait to be
        resumed (their sockets come back through the next connection, screen first) and
        follows end (their sockets start again from their cursors), as after a restart."""
        for relay in self.terminals.values():
            relay.detach()
        for follow in list(self.follows.values()):
            follow.stop()

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def send(self, peer: str, message: dict) -> None:
        """Answer `peer` (the web-side socket a message came from)."""
        try:
            await self.link.send(dict(message, to=peer))
        except Exception as error:    # no connection now: the socket resumes on the next one
            log.debug("could not send %s: %s", message.get("type"), error)

    async def adopt_sessions(self) -> None:
        """Serve again the exec sessions a previous bridge of this root started."""
        adopted = 0
        for container in await asyncio.to_thread(records.all_containers, self.engine):
            for session in exec_sessions.ExecSession.all(container):
                if not session.running():
                    await asyncio.to_thread(self._forget, session)
                    continue
                relay = TerminalRelay(self, session.id, container.id, "exec")
                try:
                    relay.adopt(session)
                except Exception as error:
                    log.warning("could not attach to session %s: %s", session.id, error)
                    continue
                self.terminals[session.id] = relay
                adopted += 1
        if adopted:
            log.info("serving %d terminal session(s) again", adopted)

    def _forget(self, session) -> None:
        try:
            session.remove(self.engine)
        except Exception as error:
            log.warning("could not remove ended session %s: %s", session.id, error)

    async def housekeeping(self, stop: asyncio.Event) -> None:
        last_sweep = 0.0
        while not stop.is_set():
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            now = time.monotonic()
            for relay in list(self.terminals.values()):
                if relay.consumer is not None and now - relay.last_heard > protocol.PEER_TIMEOUT:
                    relay.detach()
                if relay.consumer is None and now - relay.detached_at > self.resume_seconds:
                    log.info("session %s was not resumed in time: ending it", relay.id)
                    self.spawn(relay.close())
            for follow in list(self.follows.values()):
                if now - follow.last_heard > protocol.PEER_TIMEOUT:
                    follow.stop()
            for session_id, (_, when) in list(self.ended.items()):
                if now - when > self.resume_seconds:
                    del self.ended[session_id]
            if now - last_sweep > SWEEP_SECONDS:
                last_sweep = now
                await asyncio.to_thread(exec_sessions.sweep_links, self.engine)

    async def shut_down(self) -> None:
        """Let go of everything: exec sessions live on under conmon for the next bridge."""
        for follow in list(self.follows.values()):
            follow.stop()
        for relay in list(self.terminals.values()):
            relay.stop_reading()
            if relay.writer is not None:
                relay.writer.cancel()
            if relay.sock is not None:
                relay.sock.close()
        for task in list(self.tasks):
            task.cancel()

    def session_ended(self, relay: TerminalRelay) -> None:
        self.terminals.pop(relay.id, None)
        self.ended[relay.id] = (relay.exit_code, time.monotonic())

    # -- messages --------------------------------------------------------------------------

    def handle(self, message: dict) -> None:
        kind = message.get("type", "")
        if kind == "agent.hello":
            self.resume_seconds = float(message.get("resume_seconds") or self.resume_seconds)
            return
        handler = getattr(self, "on_" + kind.removeprefix("bridge.").replace(".", "_"), None)
        if not kind.startswith("bridge.") or handler is None:
            raise BadMessage(f"unknown message type {kind!r}")
        handler(message)

    def relay_for(self, message: dict) -> TerminalRelay | None:
        relay = self.terminals.get(field(message, "session", str))
        if relay is None:
            return None
        sender = message.get("reply_to")
        if relay.consumer is None and sender and not relay.ended.is_set():
            # A socket still open across a bridge restart: serve it again, screen first.
            self.spawn(relay.attach(sender, resumed=True))
        return relay if sender in (None, relay.consumer) else None

    def on_terminal_open(self, message: dict) -> None:
        session_id = field(message, "session", str)
        container_id = field(message, "container", str)
        reply_to = field(message, "reply_to", str)
        mode = field(message, "mode", str)
        if not exec_sessions.SESSION_ID.match(session_id) or not CONTAINER_ID.match(
                container_id) or mode not in protocol.MODES:
            raise BadMessage("terminal.open: bad session, container or mode")
        command = field(message, "command", list, required=False)
        if command is not None and not all(isinstance(part, str) for part in command):
            raise BadMessage("terminal.open: command must be a list of strings")
        field(message, "user", str, required=False)
        if message.get("resume"):
            relay = self.terminals.get(session_id)
            if relay is not None and relay.container_id == container_id:
                self.spawn(relay.attach(reply_to, resumed=True))
            elif session_id in self.ended:
                self.spawn(self.send(reply_to, {"type": "terminal.exit", "session": session_id,
                                                "code": self.ended[session_id][0]}))
            elif mode == "attach":
                self.start(TerminalRelay(self, session_id, container_id, mode), message)
            else:
                self.spawn(self.send(reply_to, {"type": "terminal.error", "session": session_id,
                                                "message": "The session has ended."}))
            return
        if session_id in self.terminals or session_id in self.ended:
            self.spawn(self.send(reply_to, {"type": "terminal.error", "session": session_id,
                                            "message": "That session ID is taken."}))
            return
        self.start(TerminalRelay(self, session_id, container_id, mode), message)

    def start(self, relay: TerminalRelay, message: dict) -> None:
        self.terminals[relay.id] = relay
        self.spawn(relay.open(message))

    def on_terminal_input(self, message: dict) -> None:
        relay = self.relay_for(message)
        if relay is not None:
            relay.give_input(field(message, "data", bytes))

    def on_terminal_resize(self, message: dict) -> None:
        relay = self.relay_for(message)
        if relay is not None:
            relay.resize(message.get("rows"), message.get("cols"))

    def on_terminal_ack(self, message: dict) -> None:
        relay = self.relay_for(message)
        if relay is not None:
            relay.acknowledge(field(message, "position", int))

    def on_terminal_detach(self, message: dict) -> None:
        relay = self.terminals.get(field(message, "session", str))
        if relay is not None:
            relay.detach(message.get("reply_to"))

    def on_terminal_close(self, message: dict) -> None:
        relay = self.terminals.get(field(message, "session", str))
        if relay is not None:
            self.spawn(relay.close())

    def on_logs_start(self, message: dict) -> None:
        stream = field(message, "stream", str)
        if not CONTAINER_ID.match(field(message, "container", str)):
            raise BadMessage("logs.start: bad container")
        field(message, "reply_to", str)
        if stream in self.follows:
            raise BadMessage("logs.start: stream exists")
        follow = LogFollow(self, message)
        self.follows[stream] = follow
        follow.task = self.spawn(follow.run())

    def on_logs_ack(self, message: dict) -> None:
        follow = self.follows.get(field(message, "stream", str))
        if follow is not None:
            follow.acknowledge(field(message, "batch", int))

    def on_logs_stop(self, message: dict) -> None:
        follow = self.follows.get(field(message, "stream", str))
        if follow is not None:
            follow.stop()

    def on_ping(self, message: dict) -> None:
        reply_to = message.get("reply_to")
        for session_id in message.get("sessions") or ():
            relay = self.terminals.get(session_id)
            if relay is None:
                continue
            if relay.consumer == reply_to:
                relay.heard()
            elif relay.consumer is None and reply_to and not relay.ended.is_set():
                self.spawn(relay.attach(reply_to, resumed=True))
        for stream in message.get("streams") or ():
            follow = self.follows.get(stream)
            if follow is not None:
                follow.last_heard = time.monotonic()
            elif reply_to:
                self.spawn(self.send(reply_to, {"type": "logs.lost", "stream": stream}))


def run(config, engine, api) -> int:
    """Serve until SIGTERM or SIGINT (0), or until the console will not have this bridge (3)."""
    from console.agent.console_api import ConsoleRefused, Revoked, Unreachable
    from console.agent.link import AgentLink

    def key_is_valid() -> bool:
        try:
            api.check_key()
        except Revoked:
            return False
        except (ConsoleRefused, Unreachable):
            pass
        return True

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop.set)
        link = AgentLink(config, key_is_valid)
        try:
            await Bridge(config.host, engine, link, RESUME_SECONDS).serve(stop)
        except LinkEnded as ended:
            log.error("%s: the stream bridge stops", ended)
            return 3
        return 0

    return asyncio.run(main())
