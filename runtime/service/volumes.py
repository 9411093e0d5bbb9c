"""`/volumes/...`: list, create, inspect, remove, prune, through the engine's volume methods
(`volume_create`, `volumes`, `volume_inspect`, `volume_remove`, `volume_prune`). An engine
without them answers 501."""

from aiohttp import web

from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.wire import ApiError, boolean

CREATE_FIELDS = {"Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"}


def _method(request: web.Request, name: str):
    engine = service_of(request).engine
    method = getattr(engine, name, None)
    if method is None:
        raise wire.not_implemented(f"volumes ({name})")
    return method


async def list_volumes(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"name", "label", "driver", "dangling"})
    volumes = await service.call(_method(request, "volumes"), filters=wanted)
    return wire.ok_json({"Volumes": volumes, "Warnings": None})


async def create(request: web.Request) -> web.Response:
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request, required=False), "volume")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]} in the volume configuration")
    if body.get("ClusterVolumeSpec"):
        raise ApiError(400, "cluster volumes are not supported by Moorage's engine")
    document = await service.call(_method(request, "volume_create"), body.get("Name") or None,
                                  driver=body.get("Driver") or "local",
                                  driver_opts=body.get("DriverOpts") or {},
                                  labels=body.get("Labels") or {})
    return wire.ok_json(document, status=201)


async def inspect(request: web.Request) -> web.Response:
    service = service_of(request)
    document = await service.call(_method(request, "volume_inspect"), request.match_info["name"])
    return wire.ok_json(document)


async def remove(request: web.Request) -> web.Response:
    service = service_of(request)
    await service.call(_method(request, "volume_remove"), request.match_info["name"],
                       force=boolean(request, "force"))
    return wire.no_content()


async def prune(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"label", "all"})
    result = await service.call(_method(request, "volume_prune"), filters=wanted)
    return wire.ok_json(result)
