"""`/containers/{id}/archive`: HEAD (stat), GET (a path as a tar), PUT (a tar into a
directory) — what `docker cp` uses both ways.

The container's side is the engine's `cp` (`runtime/container/copy.py`): paths resolve inside
the container's own root (`openat2` with RESOLVE_IN_ROOT), so `..` and links cannot reach the
host, and an archive sent in is unpacked by the layer unpacker (no absolute paths, `..`, links
out or devices) in a private directory before it is copied in."""

import asyncio
import base64
import json
import os
import stat

from aiohttp import web

from runtime.errors import NotFound
from runtime.service import wire
from runtime.service.containers import container_of, service_of, stream_from_thread
from runtime.service.wire import ApiError, boolean

# Go's os.FileMode bits, which Docker's clients read in the path stat.
GO_DIR, GO_SYMLINK, GO_DEVICE, GO_PIPE, GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
GO_SETUID, GO_SETGID, GO_CHAR, GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_mode(mode: int) -> int:
    bits = mode & 0o777
    kind = stat.S_IFMT(mode)
    bits |= {stat.S_IFDIR: GO_DIR, stat.S_IFLNK: GO_SYMLINK, stat.S_IFBLK: GO_DEVICE,
             stat.S_IFCHR: GO_DEVICE | GO_CHAR, stat.S_IFIFO: GO_PIPE,
             stat.S_IFSOCK: GO_SOCKET}.get(kind, 0)
    if mode & stat.S_ISUID:
        bits |= GO_SETUID
    if mode & stat.S_ISGID:
        bits |= GO_SETGID
    if mode & stat.S_ISVTX:
        bits |= GO_STICKY
    return bits


def _path(request: web.Request) -> str:
    path = request.query.get("path")
    if not path:
        raise ApiError(400, "the path parameter is required")
    if "\0" in path:
        raise ApiError(400, "invalid path: contains a NUL byte")
    return path


def path_stat(engine, container, path: str) -> dict:
    """Docker's ContainerPathStat of `path` in the container."""
    from runtime.container.copy import container_root
    clean = os.path.normpath("/" + path)
    with container_root(engine, container) as root:
        if clean == "/":
            info, target = os.fstat(root.fd), ""
        else:
            try:
                parent, name = root.parent_and_name(clean)
            except OSError:
                raise NotFound(f"Could not find the file {path} in container "
                               f"{container.name}") from None
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
                target = os.readlink(name, dir_fd=parent) if stat.S_ISLNK(info.st_mode) else ""
            except FileNotFoundError:
                raise NotFound(f"Could not find the file {path} in container "
                               f"{container.name}") from None
            finally:
                os.close(parent)
    from datetime import datetime, timezone
    moment = datetime.fromtimestamp(info.st_mtime, timezone.utc)
    return {"name": os.path.basename(clean) or "/", "size": info.st_size,
            "mode": go_mode(info.st_mode),
            "mtime": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "linkTarget": target}


def _stat_header(document: dict) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


async def head(request: web.Request) -> web.Response:
    service = service_of(request)
    container = await container_of(request)
    document = await service.call(path_stat, service.engine, container, _path(request))
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat":
                                             _stat_header(document)})


async def get(request: web.Request) -> web.StreamResponse:
    from runtime.container import copy
    service = service_of(request)
    container = await container_of(request)
    path = _path(request)
    document = await service.call(path_stat, service.engine, container, path)
    return await stream_from_thread(
        request, service, "application/x-tar",
        lambda out: copy.copy_from_container_as_tar(service.engine, container, path, out),
        headers={"X-Docker-Container-Path-Stat": _stat_header(document)})


async def put(request: web.Request) -> web.Response:
    from runtime.container import copy
    service = service_of(request)
    container = await container_of(request)
    path = _path(request)
    reader = wire.ThreadReader(asyncio.get_running_loop(), request.content)
    await service.call(copy.copy_tar_to_container, service.engine, container, reader, path,
                       archive=boolean(request, "copyUIDGID"))
    return web.Response(status=200)
