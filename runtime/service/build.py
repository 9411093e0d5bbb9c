"""`POST /build`: a Dockerfile build from a context tar sent in the body, with the build's
output streamed as Docker's JSON (`{"stream": ...}`, then `{"aux": {"ID": ...}}`).

The context is hostile input: it is unpacked by the layer unpacker (no absolute paths, no
`..`, no links out, size limits) into a private working directory under the engine's root,
which is removed after the build."""

import asyncio
import json

from aiohttp import web

from runtime.errors import InvalidArgument, MoorError
from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.wire import ApiError, boolean

# Build parameters of Docker's that change nothing here when left at these values (None:
# any value: the classic builder keeps no intermediate containers, so rm and forcerm hold).
ZERO, EMPTY, FALSE = ("", "0"), ("", "[]", "null", "{}"), ("", "0", "false", "False")
NEUTRAL = {"rm": None, "forcerm": None, "pull": FALSE, "networkmode": ("", "default"),
           "platform": ("",), "remote": ("",), "extrahosts": ("",), "squash": FALSE,
           "cachefrom": EMPTY, "labels": EMPTY, "shmsize": ZERO, "memory": ZERO,
           "memswap": ZERO + ("-1",), "cpushares": ZERO, "cpusetcpus": ("",),
           "cpusetmems": ("",), "cpuperiod": ZERO, "cpuquota": ZERO, "cgroupparent": ("",),
           "ulimits": EMPTY, "session": None, "buildid": None, "outputs": EMPTY,
           "isolation": ("", "default"), "version": ("", "1")}
KNOWN = {"t", "dockerfile", "buildargs", "nocache", "target", "q"} | set(NEUTRAL)


def _build_args(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise ApiError(400, "invalid buildargs: not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid buildargs: expected a JSON object")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _check_parameters(request: web.Request) -> None:
    for key, value in request.query.items():
        if key not in KNOWN:
            raise ApiError(400, f"unknown build parameter {key}")
        neutral = NEUTRAL.get(key)
        if neutral is not None and value not in neutral:
            raise wire.not_implemented(f"the build parameter {key}={value}")


def _unpack_and_build(engine, reader, tags, dockerfile, build_args, no_cache, target, say):
    import os

    from runtime import staging
    from runtime.image.layer_unpack import unpack_layer
    engine.paths.ensure()
    with staging.working_dir(engine.paths.tmp, "build-context-") as scratch:
        context = os.path.join(scratch, "context")
        os.mkdir(context, 0o700)
        try:
            unpack_layer(reader, context)
        except InvalidArgument as error:
            raise InvalidArgument(f"invalid build context: {error.message}") from None
        return engine.build(context, dockerfile=dockerfile, tags=tags,
                            build_args=build_args, no_cache=no_cache, target=target,
                            output=say)


async def build(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    _check_parameters(request)
    tags = request.query.getall("t", [])
    dockerfile = request.query.get("dockerfile") or None
    build_args = _build_args(request.query.get("buildargs"))
    quiet = boolean(request, "q")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    reader = wire.ThreadReader(loop, request.content)

    def say(text: str) -> None:
        if not quiet:
            loop.call_soon_threadsafe(queue.put_nowait, text)

    future = loop.run_in_executor(
        service.pool, _unpack_and_build, service.engine, reader, tags, dockerfile,
        build_args, boolean(request, "nocache"), request.query.get("target") or None, say)
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
    response = await wire.json_stream(request)
    while True:
        text = await queue.get()
        if text is None:
            break
        await wire.send_json(response, {"stream": text})
    try:
        image_id = future.result()
    except MoorError as error:
        await wire.send_json(response, {"errorDetail": {"message": error.message},
                                        "error": error.message})
    else:
        await wire.send_json(response, {"aux": {"ID": image_id}})
        if quiet:
            await wire.send_json(response, {"stream": image_id + "\n"})
    await response.write_eof()
    return response
