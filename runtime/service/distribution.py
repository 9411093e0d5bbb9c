"""`POST /images/create?fromImage=` (pull), `POST /images/{name}/push`, with Docker's chunked
JSON progress. Registry credentials are the engine's own (`moor login` on the host): a request
carrying credentials of its own in `X-Registry-Auth` is refused rather than ignored."""

import base64
import json

from aiohttp import web

from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.images import engine_progress, import_image
from runtime.service.wire import ApiError


def _check_auth(request: web.Request) -> None:
    header = request.headers.get("X-Registry-Auth")
    if not header:
        return
    try:
        padded = header + "=" * (-len(header) % 4)
        auth = json.loads(base64.urlsafe_b64decode(padded) or b"{}")
    except ValueError:
        raise ApiError(400, "invalid X-Registry-Auth header: not base64 JSON") from None
    if isinstance(auth, dict) and any(auth.get(key) for key in ("username", "password",
                                                                "auth", "identitytoken",
                                                                "registrytoken")):
        raise wire.not_implemented("registry credentials sent with a request (log in on the "
                                   "host with `moor login`; the engine uses those)")


def _reference(image: str, tag: str | None) -> str:
    if not tag:
        return image
    if tag.startswith("sha256:"):
        return f"{image}@{tag}"
    return f"{image}:{tag}"


async def create(request: web.Request) -> web.StreamResponse:
    """Docker's one endpoint for pull (fromImage) and import (fromSrc)."""
    if request.query.get("fromSrc"):
        return await import_image(request)
    image = request.query.get("fromImage")
    if not image:
        raise ApiError(400, "fromImage or fromSrc is required")
    if request.query.get("platform"):
        raise wire.not_implemented("pulling for another platform")
    _check_auth(request)
    service = service_of(request)
    reference = _reference(image, request.query.get("tag"))
    response, _ = await engine_progress(
        request, service, lambda say: service.engine.pull(reference, progress=say))
    await response.write_eof()
    return response


async def push(request: web.Request) -> web.StreamResponse:
    _check_auth(request)
    service = service_of(request)
    reference = _reference(request.match_info["name"], request.query.get("tag"))
    await service.call(service.engine.image_id, reference)   # 404 before any progress

    def work(say):
        digest = service.engine.push(reference, progress=say)
        return digest
    response, digest = await engine_progress(request, service, work)
    if digest:
        tag = reference.rpartition(":")[2] if ":" in reference.split("/")[-1] else "latest"
        await wire.send_json(response, {"progressDetail": {},
                                        "aux": {"Tag": tag, "Digest": digest, "Size": 0}})
    await response.write_eof()
    return response
