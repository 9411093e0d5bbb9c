"""`/images/...` and `/commit`: list, inspect, history, tag, remove, prune, save (get),
load, import (`/images/create?fromSrc=-`), commit. Pull and push are in `distribution.py`,
build in `build.py`."""

import asyncio
import re

from aiohttp import web

from runtime.errors import MoorError, NotFound
from runtime.service import wire
from runtime.service.containers import service_of, stream_from_thread
from runtime.service.wire import ApiError, boolean


async def _image_id(service, name: str) -> str:
    try:
        return await service.call(service.engine.image_id, name)
    except NotFound:
        raise ApiError(404, f"No such image: {name}") from None


async def list_images(request: web.Request) -> web.Response:
    """Docker's image summaries with the engine's filters (`moor images --filter`)."""
    service = service_of(request)
    wanted = wire.filters(request, {"dangling", "label", "reference", "before", "since"})
    rows = await service.call(service.engine.images, all=boolean(request, "all"),
                              filters=wanted)
    counts = {}
    for summary in await service.call(service.engine.containers, all=True):
        counts[summary["ImageID"]] = counts.get(summary["ImageID"], 0) + 1
    result = []
    for row in rows:
        row = dict(row)
        row["Containers"] = counts.get(row["Id"], 0)
        row["SharedSize"] = -1
        row["VirtualSize"] = row["Size"]
        if not row["RepoTags"]:
            row["RepoTags"] = ["<none>:<none>"]     # as Docker 20.10 lists untagged images
        result.append(row)
    return wire.ok_json(result)


async def inspect(request: web.Request) -> web.Response:
    service = service_of(request)
    name = request.match_info["name"]
    image_id = await _image_id(service, name)
    document = await service.call(service.engine.image_inspect, image_id)
    document.setdefault("ContainerConfig", document.get("Config") or {})
    document.setdefault("DockerVersion", "")
    document.setdefault("VirtualSize", document.get("Size", 0))
    document.setdefault("GraphDriver", {"Name": "overlay", "Data": None})
    return wire.ok_json(document)


async def history(request: web.Request) -> web.Response:
    service = service_of(request)
    image_id = await _image_id(service, request.match_info["name"])
    rows = await service.call(service.engine.history, image_id)
    return wire.ok_json(rows)


async def tag(request: web.Request) -> web.Response:
    service = service_of(request)
    repository = request.query.get("repo")
    if not repository:
        raise ApiError(400, "repository name (repo) is required")
    version = request.query.get("tag") or "latest"
    image_id = await _image_id(service, request.match_info["name"])
    await service.call(service.engine.tag, image_id, f"{repository}:{version}")
    return web.Response(status=201)


async def remove(request: web.Request) -> web.Response:
    service = service_of(request)
    name = request.match_info["name"]
    await _image_id(service, name)
    events = await service.call(service.engine.remove_image, name,
                                force=boolean(request, "force"))
    return wire.ok_json(events)


async def prune(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"dangling", "until", "label"})
    if set(wanted) - {"dangling"}:
        raise wire.not_implemented("the image prune filters 'until' and 'label'")
    every = "false" in wanted.get("dangling", [])
    events = await service.call(service.engine.prune_images, all=every)
    return wire.ok_json({"ImagesDeleted": events or None, "SpaceReclaimed": 0})


async def save_one(request: web.Request) -> web.StreamResponse:
    return await _save(request, [request.match_info["name"]])


async def save_many(request: web.Request) -> web.StreamResponse:
    names = request.query.getall("names", [])
    if not names:
        raise ApiError(400, "name the images to save (names=...)")
    return await _save(request, names)


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    from runtime.image import archive
    service = service_of(request)
    for name in names:
        await _image_id(service, name)
    return await stream_from_thread(request, service, "application/x-tar",
                                    lambda out: archive.save(service.engine, names, out))


async def load(request: web.Request) -> web.StreamResponse:
    from runtime.image import archive
    service = service_of(request)
    quiet = boolean(request, "quiet")
    reader = wire.ThreadReader(asyncio.get_running_loop(), request.content)
    lines = await service.call(archive.load, service.engine, reader)
    response = await wire.json_stream(request)
    for line in lines:
        await wire.send_json(response, {"stream": line + "\n"})
    if quiet and not lines:
        await wire.send_json(response, {"stream": ""})
    await response.write_eof()
    return response


async def import_image(request: web.Request) -> web.StreamResponse:
    """`POST /images/create?fromSrc=-`: the body is a root file system tar."""
    from runtime.image import archive
    service = service_of(request)
    if request.query.get("fromSrc") != "-":
        raise wire.not_implemented("importing from a URL (fromSrc other than -)")
    repository = request.query.get("repo") or None
    if repository and request.query.get("tag"):
        repository = f"{repository}:{request.query['tag']}"
    changes = request.query.getall("changes", [])
    reader = wire.ThreadReader(asyncio.get_running_loop(), request.content)
    image_id = await service.call(archive.import_tar, service.engine, reader, repository,
                                  request.query.get("message") or None, changes)
    response = await wire.json_stream(request)
    await wire.send_json(response, {"status": image_id})
    await response.write_eof()
    return response


_CHANGE = re.compile(r"^\s*(CMD|ENTRYPOINT|ENV|EXPOSE|LABEL|USER|VOLUME|WORKDIR|STOPSIGNAL)\b",
                     re.IGNORECASE)


async def commit(request: web.Request) -> web.Response:
    service = service_of(request)
    body = await wire.json_body(request, required=False)
    if body and not isinstance(body, dict):
        raise ApiError(400, "invalid configuration: expected a JSON object")
    container = request.query.get("container")
    if not container:
        raise ApiError(400, "the container to commit is required (container=...)")
    repository = request.query.get("repo") or None
    if repository:
        repository = f"{repository}:{request.query.get('tag') or 'latest'}"
    changes = list(request.query.getall("changes", []))
    for change in changes:
        if not _CHANGE.match(change):
            raise ApiError(400, f"invalid change {change!r}: a Dockerfile instruction of "
                                "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR "
                                "or STOPSIGNAL")
    changes += _config_changes(body or {})
    image_id = await service.call(service.engine.commit, container, repository,
                                  message=request.query.get("comment") or None,
                                  author=request.query.get("author") or None,
                                  changes=changes, pause=boolean(request, "pause", True))
    return wire.ok_json({"Id": image_id}, status=201)


def _config_changes(config: dict) -> list[str]:
    """A commit's `Config` body as the Dockerfile changes the engine applies."""
    import json
    changes = []
    for key, value in config.items():
        if value in (None, "", [], {}):
            continue
        if key == "Cmd":
            changes.append(f"CMD {json.dumps(value)}")
        elif key == "Entrypoint":
            changes.append(f"ENTRYPOINT {json.dumps(value)}")
        elif key == "Env":
            changes.extend(f"ENV {item.partition('=')[0]}={json.dumps(item.partition('=')[2])}"
                           for item in value)
        elif key == "Labels":
            changes.extend(f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in value.items())
        elif key == "ExposedPorts":
            changes.extend(f"EXPOSE {port}" for port in value)
        elif key == "User":
            changes.append(f"USER {value}")
        elif key == "WorkingDir":
            changes.append(f"WORKDIR {value}")
        elif key == "StopSignal":
            changes.append(f"STOPSIGNAL {value}")
        elif key == "Volumes":
            changes.extend(f"VOLUME {json.dumps(path)}" for path in value)
        elif key in ("Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr",
                     "Tty", "OpenStdin", "StdinOnce", "Image"):
            continue   # run-time settings, not an image's
        else:
            raise ApiError(400, f"Config.{key} cannot be set by a commit on Moorage's engine")
    return changes


def progress_message(line: str) -> dict:
    """A progress line of the engine (`0a1b2c3d4e5f: Pull complete`) as Docker's JSON."""
    match = re.match(r"^([0-9a-f]{12}): (.*)$", line)
    if match:
        return {"status": match.group(2), "id": match.group(1)}
    return {"status": line}


async def engine_progress(request: web.Request, service, work, response=None):
    """Run `work(say)` in the pool, streaming each `say(line)` as Docker's progress JSON; an
    error becomes the stream's last message (`errorDetail`). Returns work's result or None."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def say(line: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, progress_message(line))

    response = response or await wire.json_stream(request)
    future = loop.run_in_executor(service.pool, work, say)
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
    while True:
        message = await queue.get()
        if message is None:
            break
        await wire.send_json(response, message)
    try:
        result = future.result()
    except MoorError as error:
        await wire.send_json(response, {"errorDetail": {"message": error.message},
                                        "error": error.message})
        result = None
    return response, result
