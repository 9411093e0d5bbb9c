"""`/volumes/...`: list, create, inspect, remove, prune, through the engine's volume methods
(`volume_create`, `volumes`, `volume_inspect`, `volume_remove`, `volume_prune`), which keep
Docker's rules (an existing name given back by create, removal refused while a container
names the volume, and for API 1.41 clients a prune of every unused volume)."""

from aiohttp import web

from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.wire import ApiError, boolean

CREATE_FIELDS = {"Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"}


async def list_volumes(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"name", "label", "driver", "dangling"})
    volumes = await service.call(service.engine.volumes, filters=wanted)
    return wire.ok_json({"Volumes": volumes, "Warnings": None})


async def create(request: web.Request) -> web.Response:
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request, required=False), "volume")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]} in the volume configuration")
    if body.get("ClusterVolumeSpec"):
        raise ApiError(400, "cluster volumes are not supported by Moorage's engine")
    document = await service.call(service.engine.volume_create, body.get("Name") or None,
                                  driver=body.get("Driver") or "local",
                                  driver_opts=body.get("DriverOpts") or {},
                                  labels=body.get("Labels") or {})
    return wire.ok_json(document, status=201)


async def inspect(request: web.Request) -> web.Response:
    service = service_of(request)
    document = await service.call(service.engine.volume_inspect, request.match_info["name"])
    return wire.ok_json(document)


async def remove(request: web.Request) -> web.Response:
    service = service_of(request)
    await service.call(service.engine.volume_remove, request.match_info["name"],
                       force=boolean(request, "force"))
    return wire.no_content()


async def prune(request: web.Request) -> web.Response:
    service = service_of(request)
    wanted = wire.filters(request, {"label", "label!", "all"})
    # Before API 1.42 a prune took every unused volume, named ones too (moby adds `all` for
    # those clients); this service speaks 1.41.
    wanted.setdefault("all", ["true"])
    result = await service.call(service.engine.volume_prune, filters=wanted)
    return wire.ok_json(result)
