"""`/networks/...`: list, inspect, create, remove, connect, disconnect, prune — the engine's
bridge networks (`runtime/network`)."""

from aiohttp import web

from runtime.errors import MoorError
from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.wire import ApiError

CREATE_FIELDS = {"Name", "CheckDuplicate", "Driver", "Internal", "Attachable", "Ingress",
                 "IPAM", "EnableIPv6", "Options", "Labels", "Scope", "ConfigOnly",
                 "ConfigFrom"}
HOST_ACCESS = "moorage.host_access"


def docker_network(network: dict) -> dict:
    """The engine's network document with a time Docker's clients can parse (the pre-defined
    networks have no creation time), and a user network's `Options` as Docker shows them:
    those given at its creation. The bridge device the engine names itself is not one of
    them (docker-compose 1.29 refuses to use a project network whose options differ from its
    file's: "needs to be recreated - option ... has changed")."""
    options = dict(network.get("Options") or {})
    if options.get("com.docker.network.bridge.default_bridge") != "true":
        options.pop("com.docker.network.bridge.name", None)
    return dict(network, Created=network.get("Created") or "0001-01-01T00:00:00Z",
                Options=options)


def _matches(network: dict, wanted: dict) -> bool:
    from runtime.service.containers import _label_matches
    for key, values in wanted.items():
        if key == "name" and not any(v in network["Name"] for v in values):
            return False
        if key == "id" and not any(network["Id"].startswith(v) for v in values):
            return False
        if key == "driver" and network["Driver"] not in values:
            return False
        if key == "label" and not all(_label_matches(network.get("Labels") or {}, v)
                                      for v in values):
            return False
        if key == "scope" and "local" not in values:
            return False
        if key == "type":
            kind = "builtin" if network["Name"] in ("bridge", "host", "none") else "custom"
            if kind not in values:
                return False
    return True


async def list_networks(request: web.Request) -> web.Response:
    from runtime.network import list_networks as listing
    service = service_of(request)
    wanted = wire.filters(request, {"name", "id", "driver", "label", "scope", "type",
                                    "dangling"})
    if "dangling" in wanted:
        raise wire.not_implemented("the networks filter 'dangling'")
    networks = await service.call(listing, service.engine.paths)
    return wire.ok_json([docker_network(n) for n in networks if _matches(n, wanted)])


async def inspect(request: web.Request) -> web.Response:
    service = service_of(request)
    return wire.ok_json(docker_network(await service.call(service.engine.network_inspect,
                                                          request.match_info["id"])))


async def create(request: web.Request) -> web.Response:
    from runtime.network import create_network
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request), "network configuration")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]} in the network configuration")
    name = body.get("Name")
    if not name or not isinstance(name, str):
        raise ApiError(400, "a network needs a Name")
    if (body.get("Driver") or "bridge") != "bridge":
        raise ApiError(400, f"network driver {body['Driver']} is not supported: Moorage "
                            "networks use the bridge driver")
    for key in ("EnableIPv6", "Ingress", "ConfigOnly"):
        if body.get(key):
            raise ApiError(400, f"{key} is not supported by Moorage's engine")
    options = dict(body.get("Options") or {})
    host_access = str(options.pop(HOST_ACCESS, "false")).lower() in ("true", "1")
    if options:
        raise ApiError(400, f"network option {sorted(options)[0]} is not supported by "
                            "Moorage's engine")
    ipam = body.get("IPAM") or {}
    configs = ipam.get("Config") or []
    if len(configs) > 1:
        raise ApiError(400, "one subnet per network on Moorage's engine")
    subnet = gateway = None
    if configs:
        subnet, gateway = configs[0].get("Subnet") or None, configs[0].get("Gateway") or None
    network = await service.call(create_network, service.engine.paths, name, subnet=subnet,
                                 gateway=gateway, internal=bool(body.get("Internal")),
                                 host_access=host_access, labels=body.get("Labels") or {})
    return wire.ok_json({"Id": network["Id"], "Warning": ""}, status=201)


async def remove(request: web.Request) -> web.Response:
    from runtime.network import remove_network
    service = service_of(request)
    await service.call(remove_network, service.engine.paths, request.match_info["id"])
    return wire.no_content()


async def connect(request: web.Request) -> web.Response:
    from runtime.network import NetworkRequest, connect as connect_network
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request), "connect request")
    if not body.get("Container"):
        raise ApiError(400, "Container is required")
    endpoint = body.get("EndpointConfig") or {}
    if not wire_empty(endpoint, {"Aliases", "NetworkID", "EndpointID"}):
        raise ApiError(400, "endpoint settings (addresses, links, driver options) are not "
                            "supported by Moorage's engine")
    container = await service.call(service.engine.inspect, body["Container"])
    network = request.match_info["id"]
    if await _made_for(service, container, network):
        # Not running, and made for this network: it joins it when it starts (compose
        # disconnects and connects again before the start, to set its aliases).
        service.detached_networks.discard(container["Id"])
        return web.Response(status=200)
    await service.call(connect_network, service.engine.paths, network, NetworkRequest(
        container_id=container["Id"], name=container["Name"].lstrip("/"),
        hostname=container["Config"].get("Hostname") or container["Id"][:12], mode=network))
    return web.Response(status=200)


def wire_empty(value: dict, ignored: set) -> bool:
    from runtime.service.translate import is_empty
    return is_empty({k: v for k, v in value.items() if k not in ignored})


async def disconnect(request: web.Request) -> web.Response:
    from runtime.network import disconnect as disconnect_network
    service = service_of(request)
    body = wire.json_object(await wire.json_body(request), "disconnect request")
    if not body.get("Container"):
        raise ApiError(400, "Container is required")
    container = await service.call(service.engine.inspect, body["Container"])
    if await _made_for(service, container, request.match_info["id"]):
        service.detached_networks.add(container["Id"])
        return web.Response(status=200)
    await service.call(disconnect_network, service.engine.paths, request.match_info["id"],
                       container["Id"])
    return web.Response(status=200)


async def _made_for(service, container: dict, network: str) -> bool:
    """True for a container that is not running and was made for `network` (by name or
    ID): a connect or disconnect then only says whether it joins it when it starts."""
    if container["State"]["Running"]:
        return False
    mode = container["HostConfig"].get("NetworkMode") or ""
    if network == mode:
        return True
    try:
        found = await service.call(service.engine.network_inspect, network)
    except MoorError:
        return False
    return found["Name"] == mode


async def prune(request: web.Request) -> web.Response:
    from runtime.network import list_networks as listing, remove_network
    service = service_of(request)
    wanted = wire.filters(request, {"label", "until"})
    if "until" in wanted:
        raise wire.not_implemented("the network prune filter 'until'")
    removed = []
    for network in await service.call(listing, service.engine.paths):
        if network["Name"] in ("bridge", "host", "none") or network["Containers"]:
            continue
        if not _matches(network, {k: v for k, v in wanted.items()}):
            continue
        if network["Name"].startswith("team-"):
            continue     # the console's team networks: made again on first use, kept
        try:
            await service.call(remove_network, service.engine.paths, network["Id"])
        except MoorError:
            continue
        removed.append(network["Name"])
    return wire.ok_json({"NetworksDeleted": removed or None})
