"""The resident engine service: Docker's Engine API on a Unix socket, for one engine root.

aiohttp serves it: a maintained asyncio HTTP/1.1 server whose streaming responses, chunked
encoding and connection upgrades (`Upgrade: tcp`, which Docker's attach and exec use) are its
own, so nothing here parses HTTP. The engine's calls block (files, locks, subprocesses): they
run in a thread pool, and their streams (logs, archives, build output) come back through
bounded queues, so a slow client slows only its own stream.

The service holds no state a container needs: every container runs under its own monitor
(conmon) and its truth is on disk. Killing the service (even with SIGKILL) leaves containers
running with their logs; a restarted service reads everything from the engine root again.
What lives only in the service: exec instances that were created but not started (as in
Docker, they are gone with the daemon), attach connections, the health checks it runs, and
its view of the containers (`view.py`: the records in memory, re-read only when their files
change), which container listings answer from.

Beside the API, the service runs `moor` command lines for the command line itself
(`commands.py`, `client.py`): a process forked before any thread starts, on a root-only
socket of its own under the root's run directory, so a client finds the service of the root
it works on.
"""

import asyncio
import concurrent.futures
import grp
import logging
import os
import signal
import socket

from aiohttp import web

from runtime.api import Engine
from runtime.errors import MoorError
from runtime.service import wire

API_VERSION = "1.41"
MIN_API_VERSION = "1.24"
DEFAULT_SOCKET = "/run/moorage/docker.sock"

log = logging.getLogger("moorage.service")


class Service:
    """What the routes share: the engine, the thread pool its calls run in, exec instances,
    attaches waiting for their container to start, and the health checks."""

    def __init__(self, engine: Engine, workers: int = 64):
        self.engine = engine
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="engine")
        self.execs: dict = {}            # exec ID -> exec.ExecInstance
        self.waiting_attaches: dict = {}  # container ID -> [attach.PendingAttach]
        # Containers a client disconnected, before their start, from the network they were
        # made for (and did not connect again): they cannot start without it.
        self.detached_networks: set = set()
        # The health checks of containers with a Config.Healthcheck run here, in the
        # resident process: `host_health_checks()` starts the engine's checker loop (its own
        # threads) for the service's lifetime.
        self.health_checker = None
        self._background: set = set()
        from runtime.service.view import ContainerView
        self.view = ContainerView(engine)

    async def call(self, function, *args, **kwargs):
        """Run a blocking engine call in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: function(*args, **kwargs))

    def host_health_checks(self) -> None:
        """Run the root's health checks here. One checker runs per engine root: when another
        process already runs it (another service of the same root, `moor system
        health-checker`), it keeps doing it."""
        from runtime.errors import Conflict
        checker = self.engine.health_checker()
        try:
            checker.start()
        except Conflict as error:
            log.warning("not running health checks: %s", error.message)
            return
        self.health_checker = checker

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        if self.health_checker is not None:
            # A check in progress is given a moment to end; one still running after it is
            # left to its own timeout (the container does not depend on it).
            await asyncio.to_thread(self.health_checker.stop, 5.0)
        for task in list(self._background):
            task.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _version_number(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise wire.ApiError(400, f"invalid API version {text!r}") from None


@web.middleware
async def docker_errors(request: web.Request, handler):
    """Version prefix check, and every failure as Docker's JSON error."""
    version = (request.match_info.get("version") or "").strip("/")
    try:
        if version:
            wanted = _version_number(version[1:])
            if wanted > _version_number(API_VERSION):
                raise wire.ApiError(400, f"client version {version[1:]} is too new. Maximum "
                                         f"supported API version is {API_VERSION}")
            if wanted < _version_number(MIN_API_VERSION):
                raise wire.ApiError(400, f"client version {version[1:]} is too old. Minimum "
                                         f"supported API version is {MIN_API_VERSION}, please "
                                         "upgrade your client to a newer version")
        return await handler(request)
    except wire.ApiError as error:
        return wire.error_response(error.status, error.message)
    except MoorError as error:
        return wire.error_response(wire.status_of(error), error.message)
    except web.HTTPNotFound:
        return wire.error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return wire.error_response(405, f"method {request.method} not allowed for "
                                        f"{request.path}")
    except web.HTTPRequestEntityTooLarge as error:
        return wire.error_response(413, error.text or "request body too large")
    except web.HTTPException:
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as error:  # a fault of ours: said as one line, logged in full
        log.exception("%s %s failed", request.method, request.path)
        return wire.error_response(500, f"internal error: {type(error).__name__}: {error}")


def make_app(service: Service) -> web.Application:
    from runtime.service import routes
    app = web.Application(middlewares=[docker_errors], client_max_size=wire.JSON_BODY_MAX)
    app["service"] = service
    routes.add_all(app.router)

    async def cleanup(_app):
        await service.close()
    app.on_cleanup.append(cleanup)
    return app


def bind_socket(path: str, group: str | None) -> socket.socket:
    """The listening socket: mode 0660, owned by root and `group` (root's by default). A
    socket file left by a service that died is replaced; one a live service answers on is
    not."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    gid = 0
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise MoorError(f"no such group: {group}") from None
    if os.path.lexists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)    # nobody answers: a dead service's
        else:
            raise MoorError(f"{path} is in use: another engine service is listening there")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)       # never reachable by others, even for a moment
    try:
        sock.bind(path)
    finally:
        os.umask(old_umask)
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(engine: Engine, socket_path: str, sock: socket.socket, ready=None) -> None:
    """Serve on `sock` (bound at `socket_path`) until SIGTERM or SIGINT. `ready()` is called
    once it listens."""
    service = Service(engine)
    app = make_app(service)
    runner = web.AppRunner(app, handle_signals=False, access_log=log)
    await runner.setup()
    loop = asyncio.get_running_loop()
    server = runner.server

    def connection():
        return wire.HijackableHandler(server, loop=loop, tcp_keepalive=False,
                                      access_log=log, logger=log)
    listener = await loop.create_unix_server(connection, sock=sock)
    # The health checks of the engine's containers run in this process, once the socket is
    # ours (a second service is refused before it would take them).
    await loop.run_in_executor(None, service.host_health_checks)
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    log.info("serving Docker's Engine API %s on %s for %s", API_VERSION, socket_path,
             engine.paths.root)
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        listener.close()
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass
        await runner.cleanup()
        log.info("stopped")


def command_socket_path(engine: Engine) -> str:
    """Where the service of `engine`'s root takes `moor` command lines (client.py finds it
    from the root alone)."""
    from runtime.service import client
    return os.path.join(engine.paths.run, client.SOCKET_NAME)


def run(root: str | None, socket_path: str, group: str | None = None) -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from runtime.service import commands
    engine = Engine(root)
    engine.paths.ensure()
    # The service lives in the cgroup of the containers' monitors: the conmons it starts are
    # born there and need no move (see runtime.container.cgroups.move_to), and stopping
    # whatever started the service by its cgroup leaves it alone, like the monitors.
    from runtime.container import cgroups
    cgroups.move_to(f"{engine.paths.cgroup_parent}/monitors", os.getpid())
    sock = bind_socket(socket_path, group)
    commands_path = command_socket_path(engine)
    try:
        command_listener = commands.bind(commands_path)
    except BaseException:
        sock.close()
        os.unlink(socket_path)
        raise
    command_server = None
    if command_listener is None:
        log.warning("another service of %s runs moor's commands (%s): this one serves the "
                    "API only", engine.paths.root, commands_path)
    else:
        # Forked now, while this process has one thread.
        command_server = commands.start(engine, command_listener)

    def ready():
        # Said on stdout as well, for whoever started us and waits for the socket.
        print(f"listening on {socket_path}", flush=True)
    try:
        asyncio.run(serve(engine, socket_path, sock, ready))
    finally:
        # The command server stops taking commands (those running finish on their own).
        if command_server is not None:
            try:
                os.kill(command_server, signal.SIGTERM)
                os.waitpid(command_server, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            try:
                os.unlink(commands_path)
            except FileNotFoundError:
                pass
    # A pool thread may still be blocked in an engine call that has no end of its own (an
    # events follower waiting for the next event): the interpreter would wait for it at
    # exit. Everything the service owns is closed by now.
    logging.shutdown()
    os._exit(0)
