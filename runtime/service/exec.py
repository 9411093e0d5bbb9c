"""`POST /containers/{id}/exec`, `POST /exec/{id}/start`, `/exec/{id}/resize`,
`GET /exec/{id}/json`.

An exec with a terminal runs as a terminal session under a conmon of its own
(`runtime/container/sessions.py`), the same as the console's terminals: its process outlives
this service, and a client that goes away hangs it up as closing a terminal does. An exec
without a terminal is the OCI runtime's `exec` with pipes, its output multiplexed to the
client; its pipes are drained until it ends even when the client is gone, so it never blocks.

Exec instances live in the service's memory, as in Docker, where they are gone with the
daemon.
"""

import asyncio
import os
import secrets

from aiohttp import web

from runtime.errors import Conflict, MoorError, NotFound
from runtime.service import wire
from runtime.service.attach import parse_detach_keys, relay, terminal_size
from runtime.service.wire import ApiError

KEEP_FINISHED = 500        # ended exec instances kept for inspection, the oldest dropped
EXEC_FIELDS = {"AttachStdin", "AttachStdout", "AttachStderr", "DetachKeys", "Tty", "Env",
               "Cmd", "Privileged", "User", "WorkingDir", "ConsoleSize", "Container",
               "Detach"}


class ExecInstance:
    def __init__(self, exec_id: str, container_id: str, config: dict):
        self.id = exec_id
        self.container_id = container_id
        self.cmd = list(config["Cmd"])
        self.tty = bool(config.get("Tty"))
        self.attach_stdin = bool(config.get("AttachStdin"))
        self.attach_stdout = bool(config.get("AttachStdout"))
        self.attach_stderr = bool(config.get("AttachStderr"))
        self.user = config.get("User") or None
        self.workdir = config.get("WorkingDir") or None
        self.env = [item for item in config.get("Env") or [] if "=" in item]
        self.privileged = bool(config.get("Privileged"))
        self.detach_keys = config.get("DetachKeys")
        size = config.get("ConsoleSize") or [0, 0]
        self.size = (size[0], size[1]) if size and all(size) else (24, 80)
        self.started = False
        self.running = False
        self.exit_code: int | None = None
        self.pid = 0
        self.session = None

    def document(self) -> dict:
        return {
            "ID": self.id, "ContainerID": self.container_id, "Running": self.running,
            "ExitCode": self.exit_code, "Pid": self.pid, "CanRemove": not self.running,
            "DetachKeys": self.detach_keys or "", "OpenStdin": self.attach_stdin,
            "OpenStdout": self.attach_stdout, "OpenStderr": self.attach_stderr,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.cmd[0],
                              "arguments": self.cmd[1:], "privileged": self.privileged,
                              "user": self.user or ""},
        }


def _forget_old(service) -> None:
    finished = [i for i in service.execs.values() if i.started and not i.running]
    for instance in finished[:max(0, len(finished) - KEEP_FINISHED)]:
        service.execs.pop(instance.id, None)


async def create(request: web.Request) -> web.Response:
    from runtime.service.containers import container_of, service_of
    service = service_of(request)
    config = wire.json_object(await wire.json_body(request), "exec configuration")
    unknown = sorted(set(config) - EXEC_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]} in the exec configuration")
    cmd = config.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd or not isinstance(cmd, list) or not all(isinstance(c, str) for c in cmd):
        raise ApiError(400, "No exec command specified")
    config["Cmd"] = cmd
    if config.get("Env") is not None and not (
            isinstance(config["Env"], list) and all(isinstance(e, str) for e in config["Env"])):
        raise ApiError(400, "invalid Env: expected a list of strings")
    container = await container_of(request)
    container.refresh()
    if container.status == "paused":
        raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
    if container.status != "running":
        raise Conflict(f"Container {container.id} is not running")
    parse_detach_keys(config.get("DetachKeys"))
    instance = ExecInstance(secrets.token_hex(32), container.id, config)
    _forget_old(service)
    service.execs[instance.id] = instance
    return wire.ok_json({"Id": instance.id}, status=201)


def instance_of(request: web.Request) -> ExecInstance:
    from runtime.service.containers import service_of
    instance = service_of(request).execs.get(request.match_info["id"])
    if instance is None:
        raise NotFound(f"No such exec instance: {request.match_info['id']}")
    return instance


async def inspect(request: web.Request) -> web.Response:
    instance = instance_of(request)
    if instance.session is not None and instance.running:
        code = instance.session.exit_code()
        if code is not None or not instance.session.monitor_alive():
            instance.running, instance.exit_code = False, code if code is not None else 137
    return wire.ok_json(instance.document())


async def resize(request: web.Request) -> web.Response:
    instance = instance_of(request)
    rows, cols = terminal_size(request)
    instance.size = (rows, cols)
    if instance.session is not None and instance.running:
        instance.session.resize(rows, cols)
    return web.Response(status=201)


async def start(request: web.Request) -> web.StreamResponse:
    from runtime.service.containers import service_of
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request, required=False), "exec start")
    instance = instance_of(request)
    if instance.started:
        raise Conflict(f"Exec instance {instance.id} has already been started")
    detach = bool(body.get("Detach"))
    if "Tty" in body:
        instance.tty = bool(body["Tty"])
    container = await service.call(service.engine.container, instance.container_id)
    instance.started = True
    try:
        if instance.tty:
            return await _start_terminal(request, service, container, instance, detach)
        return await _start_pipes(request, service, container, instance, detach)
    except MoorError:
        instance.running = False
        raise


async def _start_terminal(request, service, container, instance, detach: bool):
    from runtime.container import sessions
    rows, cols = instance.size
    session, sock = await service.call(
        sessions.start, service.engine, container, instance.id, instance.cmd,
        user=instance.user, rows=rows, cols=cols, env=instance.env, workdir=instance.workdir,
        privileged=instance.privileged, term="xterm")
    instance.session, instance.pid, instance.running = session, session.pid or 0, True
    if detach:
        sock.close()
        return web.Response(status=200)
    connection = await wire.hijack(request, multiplexed=False)
    try:
        await wire.headers_read(request)
        outcome = await relay(connection, sock, tty=True, stdin=instance.attach_stdin,
                              detach_keys=parse_detach_keys(instance.detach_keys))
        if outcome == "ended":
            # Known before the client hears the end: it asks for the status right after.
            code = await service.call(_session_end, session)
            instance.running, instance.exit_code = code is None, code
    except BaseException:
        connection.close()
        raise
    await connection.end()
    if outcome in ("gone", "detached") and session.running():
        # A terminal closed under a program: hang it up, as closing a terminal does.
        service.spawn(service.call(session.terminate))
    return connection.response


def _session_end(session, patience: float = 5.0) -> int | None:
    """The session's exit status: conmon writes it as the terminal's output ends, perhaps a
    moment after. None if it still runs after `patience` seconds."""
    import time
    deadline = time.monotonic() + patience
    while True:
        code = session.exit_code()
        if code is not None:
            return code
        if not session.monitor_alive():
            return session.exit_code() if session.exit_code() is not None else 137
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)


async def _start_pipes(request, service, container, instance, detach: bool):
    from runtime.container import execute
    from runtime.container.lifecycle import oci_runtime
    process_spec = await service.call(
        execute.process_spec, container, instance.cmd, tty=False, user=instance.user,
        workdir=instance.workdir, env=instance.env, privileged=instance.privileged)
    spec_path = await service.call(execute.write_spec, container, process_spec)
    argv = oci_runtime(service.engine, container).argv("exec", "--process", spec_path,
                                                       container.id)
    stdin = asyncio.subprocess.PIPE if instance.attach_stdin and not detach \
        else asyncio.subprocess.DEVNULL
    quiet = asyncio.subprocess.DEVNULL if detach else asyncio.subprocess.PIPE

    async def launch():
        try:
            process = await asyncio.create_subprocess_exec(*argv, stdin=stdin, stdout=quiet,
                                                           stderr=quiet)
        except OSError as error:
            os.unlink(spec_path)
            raise MoorError(f"cannot run the exec: {error}") from None
        instance.pid, instance.running = process.pid, True
        return process

    async def finish(process):
        code = await process.wait()
        instance.running, instance.exit_code = False, code
        try:
            os.unlink(spec_path)
        except FileNotFoundError:
            pass
    if detach:
        service.spawn(finish(await launch()))
        return web.Response(status=200)
    # The answer's headers go first, then the program starts: clients that read the headers
    # through a buffered reader (docker-py) would otherwise lose output that came with them.
    connection = await wire.hijack(request, multiplexed=True)
    try:
        await wire.headers_read(request)
        try:
            process = await launch()
        except MoorError as error:
            instance.running, instance.exit_code = False, 126
            connection.write(wire.frame(wire.STDERR, error.message.encode() + b"\n"))
            process = None
        if process is not None:
            await _relay_pipes(connection, process, instance)
            await finish(process)
    except BaseException:
        connection.close()
        raise
    await connection.end()
    return connection.response


async def _relay_pipes(connection: wire.Hijacked, process, instance) -> None:
    """Output to the client (framed) until both pipes end; input from it to the process.
    Once the client is gone the output is still read, and dropped."""
    state = {"client": True}

    async def pump(pipe, stream: int, wanted: bool):
        while True:
            data = await pipe.read(65536)
            if not data:
                return
            if wanted and state["client"] and not connection.write(wire.frame(stream, data)):
                state["client"] = False

    async def feed():
        while True:
            data = await connection.read()
            if not data:
                break
            if process.stdin is not None:
                try:
                    process.stdin.write(data)
                    await process.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    return
        if process.stdin is not None:
            process.stdin.close()

    feeder = asyncio.ensure_future(feed())
    try:
        await asyncio.gather(pump(process.stdout, wire.STDOUT, instance.attach_stdout),
                             pump(process.stderr, wire.STDERR, instance.attach_stderr))
    finally:
        feeder.cancel()
