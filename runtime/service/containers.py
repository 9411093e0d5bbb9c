"""`/containers/...`: create, list, inspect, lifecycle, logs, top, stats, changes, export,
wait, rename, prune. Attach and resize are in `attach.py`, archives in `archive.py`."""

import asyncio
import time

from aiohttp import web

from runtime.errors import InvalidArgument, MoorError, NotFound
from runtime.service import translate, wire
from runtime.service.wire import ApiError, boolean, integer

RUNNING_STATES = ("running", "paused", "restarting")
LOG_POLL_SECONDS = 0.1


def service_of(request: web.Request):
    return request.app["service"]


async def container_of(request: web.Request):
    """The container named in the path, as the engine finds it (ID, prefix or name)."""
    service = service_of(request)
    return await service.call(service.engine.container, request.match_info["id"])


def client_gone(request: web.Request) -> bool:
    """The client closed its connection (a follower that left while nothing was written)."""
    return request.transport is None or request.transport.is_closing()


# -- create, list, inspect -------------------------------------------------------------------

async def create(request: web.Request) -> web.Response:
    service = service_of(request)
    body = await wire.json_body(request)
    name = request.query.get("name") or None
    if name is not None:
        name = name.lstrip("/")
    options = translate.create_options(body, name)
    if request.query.get("platform"):
        options["platform"] = request.query["platform"]   # `--platform`: the engine checks it
    try:
        container_id = await service.call(service.engine.create, options)
    except NotFound as error:
        if error.message.lower().startswith(("no such image", "unable to find image")):
            raise ApiError(404, f"No such image: {options['image']}") from None
        raise
    return wire.ok_json({"Id": container_id, "Warnings": []}, status=201)


# Docker's filters of the container list (runtime.container.filters, as `moor ps`), and two
# of swarm's, which this engine has nothing to match with.
CONTAINER_FILTERS = {"ancestor", "before", "exited", "expose", "health", "id", "label", "name",
                     "network", "publish", "since", "status", "volume", "is-task",
                     "isolation"}


def _label_matches(labels: dict, wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _listing(engine, containers, wanted: dict, show_all: bool, limit: int) -> list[dict]:
    """The summaries (`containers(all)`: the service's view) that pass Docker's filters,
    newest first, each with its networks and mounts (one inspect, shared with the filters
    that need it)."""
    from runtime.container.filters import ContainerFilters
    filters = ContainerFilters(engine, wanted)
    documents: dict[str, dict] = {}

    def details(container_id: str) -> dict:
        if container_id not in documents:
            try:
                documents[container_id] = engine.inspect(container_id)
            except NotFound:        # removed meanwhile
                documents[container_id] = {}
        return documents[container_id]
    summaries = containers(all=show_all or filters.show_all or limit > 0)
    rows = filters.apply(summaries, details)
    if limit > 0:
        rows = rows[:limit]
    return _with_details(rows, details)


async def list_containers(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, CONTAINER_FILTERS)
    unsupported = sorted(set(wanted) & {"is-task", "isolation"})
    if unsupported:
        raise wire.not_implemented(f"the containers filter '{unsupported[0]}'")
    rows = await service.call(_listing, service.engine, service.view.containers, wanted,
                              boolean(request, "all"), integer(request, "limit", -1))
    if boolean(request, "size"):
        for row in rows:
            row["SizeRw"], row["SizeRootFs"] = await service.call(_sizes, service.engine, row)
    return wire.ok_json(rows)


def _with_details(rows: list[dict], details) -> list[dict]:
    """Docker's summaries also carry each container's networks and mounts."""
    detailed = []
    for row in rows:
        found = details(row["Id"])
        if not found:               # removed meanwhile
            continue
        document = docker_inspect(found)
        networks = (document.get("NetworkSettings") or {}).get("Networks") or {}
        detailed.append(dict(row, NetworkSettings={"Networks": networks},
                             Mounts=document.get("Mounts") or []))
    return detailed


def _sizes(engine, summary: dict) -> tuple[int, int]:
    from runtime.disk_usage import container_sizes
    return container_sizes(engine, summary)


def docker_inspect(document: dict) -> dict:
    """The engine's inspect document with the fields Docker's clients read and the engine
    keeps under other names or not at all."""
    host = dict(document.get("HostConfig") or {})
    host.pop("PublishLoopback", None)
    host["PortBindings"] = {
        key: [{"HostIp": b.get("HostIp", ""), "HostPort": str(b.get("HostPort", ""))}
              for b in bindings or []]
        for key, bindings in (host.get("PortBindings") or {}).items()}
    # The engine's log (conmon's k8s-file, capped by max-size and max-file) is what Docker's
    # clients know as json-file: logs they can read back through the API. docker-py and
    # compose read a container's logs only for such a driver.
    log_config = dict(host.get("LogConfig") or {})
    log_config["Type"] = "json-file"
    log_config.setdefault("Config", {})
    host["LogConfig"] = log_config
    host.setdefault("CpuQuota", 0)       # the engine limits CPUs through NanoCpus alone
    host.setdefault("CpuPeriod", 0)
    document = dict(document, HostConfig=host)
    document.setdefault("ExecIDs", None)
    mode = host.get("NetworkMode") or ""
    settings = dict(document.get("NetworkSettings") or {})
    if not settings.get("Networks") and mode and mode not in ("none", "host") and \
            not mode.startswith("container:"):
        # Not running: the network it is made for, without an address yet, as Docker shows.
        settings["Networks"] = {mode: {"IPAMConfig": None, "Links": None, "Aliases": None,
                                       "NetworkID": "", "EndpointID": "", "Gateway": "",
                                       "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "",
                                       "DriverOpts": None}}
        document["NetworkSettings"] = settings
    return document


async def inspect(request: web.Request) -> web.Response:
    service = service_of(request)
    document = await service.call(service.engine.inspect, request.match_info["id"])
    document = docker_inspect(document)
    if boolean(request, "size"):
        summary = {"Id": document["Id"], "ImageID": document["Image"]}
        document["SizeRw"], document["SizeRootFs"] = await service.call(
            _sizes, service.engine, summary)
    document["ExecIDs"] = [exec_id for exec_id, instance in service.execs.items()
                           if instance.container_id == document["Id"]] or None
    return wire.ok_json(document)


# -- lifecycle -------------------------------------------------------------------------------

async def start(request: web.Request) -> web.Response:
    from runtime.service import attach
    service = service_of(request)
    container = await container_of(request)
    container.refresh()
    if container.status in ("running", "paused"):
        return web.Response(status=304)
    if container.id in service.detached_networks:
        raise ApiError(409, f"container {container.id[:12]} was disconnected from the network "
                            f"it was made for: connect it again before starting it")
    await attach.start_with_waiting_attaches(service, container)
    return wire.no_content()


async def stop(request: web.Request) -> web.Response:
    service = service_of(request)
    container = await container_of(request)
    container.refresh()
    if container.status not in RUNNING_STATES:
        return web.Response(status=304)
    timeout = integer(request, "t")
    signal = request.query.get("signal") or None
    await service.call(service.engine.stop, container.id, timeout, signal)
    return wire.no_content()


async def restart(request: web.Request) -> web.Response:
    service = service_of(request)
    container = await container_of(request)
    await service.call(service.engine.restart, container.id, integer(request, "t"))
    return wire.no_content()


async def kill(request: web.Request) -> web.Response:
    service = service_of(request)
    container = await container_of(request)
    await service.call(service.engine.kill, container.id, request.query.get("signal") or "KILL")
    return wire.no_content()


async def pause(request: web.Request) -> web.Response:
    service = service_of(request)
    await service.call(service.engine.pause, request.match_info["id"])
    return wire.no_content()


async def unpause(request: web.Request) -> web.Response:
    service = service_of(request)
    await service.call(service.engine.unpause, request.match_info["id"])
    return wire.no_content()


async def rename(request: web.Request) -> web.Response:
    service = service_of(request)
    new_name = request.query.get("name")
    if not new_name:
        raise ApiError(400, "the new name is required (query parameter name)")
    await service.call(service.engine.rename, request.match_info["id"], new_name.lstrip("/"))
    return wire.no_content()


async def remove(request: web.Request) -> web.Response:
    service = service_of(request)
    if boolean(request, "link"):
        raise wire.not_implemented("removing links (link=1)")
    # `v=1` (`docker rm -v`, compose's `down -v`): its anonymous volumes too.
    await service.call(service.engine.remove, request.match_info["id"],
                       force=boolean(request, "force"), volumes=boolean(request, "v"))
    return wire.no_content()


async def prune(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"until", "label"})
    if wanted:
        raise wire.not_implemented("filters of container prune")
    removed = await service.call(service.engine.prune_containers)
    return wire.ok_json({"ContainersDeleted": removed or None, "SpaceReclaimed": 0})


# -- wait ------------------------------------------------------------------------------------

def _exit_code(engine, container_id: str, directory: str) -> int | None:
    """The exit status conmon recorded, also once the container is being removed (its
    directory then moves under tmp/, see removal._disappear)."""
    import os
    for candidate in (directory, os.path.join(engine.paths.tmp, f"removing-{container_id}")):
        try:
            with open(os.path.join(candidate, "exit")) as f:
                code = int(f.read().strip())
        except (OSError, ValueError):
            continue
        return 137 if code < 0 else code
    return None


class WaitCancelled(Exception):
    """The client of a wait went away."""


def _wait(engine, container_id: str, condition: str, registered_started_at: str | None,
          cancelled=None) -> dict:
    """Block until the condition holds; Docker's answer `{"StatusCode", "Error"}`. Gives up
    (WaitCancelled) soon after `cancelled` (a threading.Event) is set."""
    def pause():
        if cancelled is not None and cancelled.is_set():
            raise WaitCancelled()
        time.sleep(0.02)
    import os

    from runtime.container import control
    from runtime.container.state import Container
    directory = engine.paths.container(container_id)
    container = Container.load(directory)
    if container is None:
        raise NotFound(f"No such container: {container_id}")
    if condition in ("next-exit", "removed"):
        # A container that has not run since the client asked (docker run asks before it
        # starts it): the run to come, not the state before it.
        while True:
            container.refresh()
            if container.status in RUNNING_STATES or \
                    container.state.get("StartedAt") != registered_started_at:
                break
            if condition == "removed" and container.status == "removing":
                break
            pause()
            container = Container.load(directory)
            if container is None:
                if condition == "removed":
                    return {"StatusCode": 0, "Error": None}
                raise NotFound(f"No such container: {container_id}")
    while not control.wait_for_exit(container, timeout=0.5):
        pause()
    code, error = _exit_code(engine, container_id, directory), None
    latest = Container.load(directory)
    if latest is not None:
        latest.refresh()
        error = latest.state.get("Error") or None
        if code is None:
            code = latest.state.get("ExitCode", 0)
    if condition == "removed":
        # Until someone removes it (its --rm, or a client), as Docker waits.
        while os.path.exists(directory):
            pause()
    return {"StatusCode": code if code is not None else 0,
            "Error": {"Message": error} if error else None}


async def wait(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    condition = request.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition {condition!r}: not-running, next-exit or "
                            "removed")
    container = await container_of(request)
    container.refresh()
    started_at = container.state.get("StartedAt")
    # Headers first, as Docker does: the client knows the wait is registered and starts
    # the container; the status follows when the condition holds.
    response = web.StreamResponse()
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    await response.prepare(request)
    import threading
    cancelled = threading.Event()
    waiting = asyncio.ensure_future(service.call(_wait, service.engine, container.id,
                                                 condition, started_at, cancelled))
    try:
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=0.5)
            if client_gone(request):       # nobody to answer: free the thread
                cancelled.set()
        result = waiting.result()
    except WaitCancelled:
        return response
    except MoorError as error:
        result = {"StatusCode": -1, "Error": {"Message": error.message}}
    finally:
        cancelled.set()
    await response.write(wire.json_line(result))
    await response.write_eof()
    return response


# -- logs ------------------------------------------------------------------------------------

def _log_since(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if not value or value == "0":
        return None
    from runtime.container.logs import parse_since
    try:
        return parse_since(value)
    except InvalidArgument as error:
        raise ApiError(400, error.message) from None


def _log_tail(request: web.Request) -> int | None:
    value = request.query.get("tail") or "all"
    if value == "all":
        return None
    try:
        tail = int(value)
    except ValueError:
        raise ApiError(400, f"invalid value for tail: {value!r}") from None
    return tail if tail >= 0 else None


def _log_batch(engine, ref: str, tail, since, after_offset):
    """Records of the log from where a reader is; without the unfinished last line while the
    program still runs (it is read again, whole, once it ends)."""
    from runtime.container import logs
    container = engine.container(ref)
    finished = logs.program_finished(container)
    records = list(logs.read(container, tail=tail if after_offset is None else None,
                             since=since, after_offset=after_offset))
    if not finished:
        records = [r for r in records if r.data.endswith(b"\n")]
    return records, finished


async def logs(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    container = await container_of(request)
    stdout, stderr = boolean(request, "stdout"), boolean(request, "stderr")
    if not stdout and not stderr:
        raise ApiError(400, "you must choose at least one stream")
    follow, timestamps = boolean(request, "follow"), boolean(request, "timestamps")
    since, until = _log_since(request, "since"), _log_since(request, "until")
    tail = _log_tail(request)
    tty = container.tty
    response = web.StreamResponse()
    response.content_type = wire.RAW_STREAM if tty else wire.MULTIPLEXED_STREAM
    response.enable_chunked_encoding()
    await response.prepare(request)
    offset = None
    while True:
        records, finished = await service.call(_log_batch, service.engine, container.id,
                                               tail, since, offset)
        pieces = []
        for record in records:
            offset = record.offset
            if until and record.time > until:
                finished = True
                break
            if (record.stream == "stderr" and not stderr) or \
                    (record.stream == "stdout" and not stdout):
                continue
            data = (record.time.encode() + b" " + record.data) if timestamps else record.data
            if tty:
                pieces.append(data)
            else:
                pieces.append(wire.frame(wire.STDERR if record.stream == "stderr"
                                         else wire.STDOUT, data))
        if pieces:
            await response.write(b"".join(pieces))
        if not follow or finished or client_gone(request):
            break
        await asyncio.sleep(LOG_POLL_SECONDS)
    await response.write_eof()
    return response


# -- top, stats, changes, export -------------------------------------------------------------

async def top(request: web.Request) -> web.Response:
    from runtime.container import cgroups
    service = service_of(request)
    container = await container_of(request)
    container.refresh()
    if container.status not in ("running", "paused"):
        raise ApiError(409, f"Container {container.id} is not running")
    rows = await service.call(cgroups.processes, service.engine.paths.cgroup_parent, container)
    return wire.ok_json({"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                         "Processes": rows})


async def changes(request: web.Request) -> web.Response:
    service = service_of(request)
    found = await service.call(service.engine.diff, request.match_info["id"])
    kinds = {"C": 0, "A": 1, "D": 2}
    return wire.ok_json([{"Path": path, "Kind": kinds[kind]} for kind, path, _ in found] or None)


async def stats(request: web.Request) -> web.StreamResponse:
    from runtime.container import cgroups
    service = service_of(request)
    container = await container_of(request)
    stream = boolean(request, "stream", True) and not boolean(request, "one-shot")
    parent = service.engine.paths.cgroup_parent
    response = web.StreamResponse()
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    await response.prepare(request)
    previous = await service.call(cgroups.docker_stats, parent, container, None)
    if not stream:
        await asyncio.sleep(0.5)   # CPU use is a difference: measured over half a second
        sample = await service.call(cgroups.docker_stats, parent, container, previous)
        await response.write(wire.json_line(sample))
        await response.write_eof()
        return response
    while True:
        await asyncio.sleep(1.0)
        sample = await service.call(cgroups.docker_stats, parent, container, previous)
        await response.write(wire.json_line(sample))
        previous = sample
        container.refresh()
        if container.status not in RUNNING_STATES or client_gone(request):
            break
    await response.write_eof()
    return response


async def export(request: web.Request) -> web.StreamResponse:
    from runtime.image import archive
    service = service_of(request)
    container = await container_of(request)
    return await stream_from_thread(request, service, "application/x-tar",
                                    lambda out: archive.export(service.engine, container, out))


async def stream_from_thread(request: web.Request, service, content_type: str, produce,
                             headers: dict | None = None) -> web.StreamResponse:
    """Answer with what `produce(out)` writes to `out` in a pool thread. An error before
    anything was written is an error response; after, the stream is cut short (the client
    sees a truncated archive, as with Docker)."""
    loop = asyncio.get_running_loop()
    writer = wire.ThreadWriter(loop)

    def work():
        produce(writer)
        writer.finish()
    future = loop.run_in_executor(service.pool, work)
    data = await _next_piece(writer, future)       # an error here is an error response
    response = web.StreamResponse(headers=headers or {})
    response.content_type = content_type
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        while data is not None:
            await response.write(data)
            data = await _next_piece(writer, future)
    except MoorError as error:
        import logging
        logging.getLogger("moorage.service").warning("%s: %s", request.path, error.message)
        response.force_close()
        return response
    except BaseException:
        writer.close()
        raise
    await response.write_eof()
    return response


async def _next_piece(writer, future):
    """The producer's next piece; None at its end; its error raised."""
    if writer.queue.empty():
        getter = asyncio.ensure_future(writer.queue.get())
        done, _ = await asyncio.wait({getter, future}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        future.result()             # raises the producer's error
    return await writer.queue.get()
