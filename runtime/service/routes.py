"""Every endpoint of Docker's Engine API 1.41 the service knows: the implemented ones with
their handler, the others answered 501 with the endpoint's name (docs/engine-api.md lists
both; a test checks the list against this table). A path Docker does not have is a 404.

Each path is served unversioned and under `/v1.NN/` (1.24 to 1.41).
"""

from aiohttp import web

from runtime.service import (
    archive,
    attach,
    build,
    containers,
    distribution,
    exec as execs,
    images,
    networks,
    system,
    volumes,
)

VERSION = r"{version:(?:v[0-9]+(?:\.[0-9]+)?/)?}"

IMPLEMENTED = [
    ("GET", "/_ping", system.ping),
    ("HEAD", "/_ping", system.ping),
    ("GET", "/version", system.version),
    ("GET", "/info", system.info),
    ("GET", "/system/df", system.disk_usage),
    ("GET", "/events", system.events),
    ("GET", "/containers/json", containers.list_containers),
    ("POST", "/containers/create", containers.create),
    ("POST", "/containers/prune", containers.prune),
    ("GET", "/containers/{id}/json", containers.inspect),
    ("GET", "/containers/{id}/top", containers.top),
    ("GET", "/containers/{id}/logs", containers.logs),
    ("GET", "/containers/{id}/changes", containers.changes),
    ("GET", "/containers/{id}/export", containers.export),
    ("GET", "/containers/{id}/stats", containers.stats),
    ("POST", "/containers/{id}/resize", attach.resize),
    ("POST", "/containers/{id}/start", containers.start),
    ("POST", "/containers/{id}/stop", containers.stop),
    ("POST", "/containers/{id}/restart", containers.restart),
    ("POST", "/containers/{id}/kill", containers.kill),
    ("POST", "/containers/{id}/rename", containers.rename),
    ("POST", "/containers/{id}/pause", containers.pause),
    ("POST", "/containers/{id}/unpause", containers.unpause),
    ("POST", "/containers/{id}/attach", attach.attach),
    ("POST", "/containers/{id}/wait", containers.wait),
    ("DELETE", "/containers/{id}", containers.remove),
    ("HEAD", "/containers/{id}/archive", archive.head),
    ("GET", "/containers/{id}/archive", archive.get),
    ("PUT", "/containers/{id}/archive", archive.put),
    ("POST", "/containers/{id}/exec", execs.create),
    ("POST", "/exec/{id}/start", execs.start),
    ("POST", "/exec/{id}/resize", execs.resize),
    ("GET", "/exec/{id}/json", execs.inspect),
    ("GET", "/images/json", images.list_images),
    ("POST", "/build", build.build),
    ("POST", "/images/create", distribution.create),
    ("POST", "/images/load", images.load),
    ("GET", "/images/get", images.save_many),
    ("POST", "/images/prune", images.prune),
    ("POST", "/commit", images.commit),
    ("GET", "/images/{name}/json", images.inspect),
    ("GET", "/images/{name}/history", images.history),
    ("GET", "/images/{name}/get", images.save_one),
    ("POST", "/images/{name}/push", distribution.push),
    ("POST", "/images/{name}/tag", images.tag),
    ("DELETE", "/images/{name}", images.remove),
    ("GET", "/networks", networks.list_networks),
    ("POST", "/networks/create", networks.create),
    ("POST", "/networks/prune", networks.prune),
    ("GET", "/networks/{id}", networks.inspect),
    ("DELETE", "/networks/{id}", networks.remove),
    ("POST", "/networks/{id}/connect", networks.connect),
    ("POST", "/networks/{id}/disconnect", networks.disconnect),
    ("GET", "/volumes", volumes.list_volumes),
    ("POST", "/volumes/create", volumes.create),
    ("POST", "/volumes/prune", volumes.prune),
    ("GET", "/volumes/{name}", volumes.inspect),
    ("DELETE", "/volumes/{name}", volumes.remove),
]

# (method, path, what it is): Docker's endpoints this engine does not offer.
NOT_IMPLEMENTED = [
    ("POST", "/auth", "registry log-in (log in on the host with moor login)"),
    ("GET", "/containers/{id}/attach/ws", "attach over a websocket"),
    ("POST", "/containers/{id}/update", "changing a container's resources"),
    ("POST", "/build/prune", "build cache prune (the classic builder keeps no separate cache)"),
    ("GET", "/images/search", "registry search"),
    ("GET", "/distribution/{name}/json", "registry image information"),
    ("POST", "/session", "BuildKit sessions"),
    ("GET", "/plugins", "plugins"),
    ("GET", "/swarm", "swarm"),
    ("POST", "/swarm/init", "swarm"),
    ("POST", "/swarm/join", "swarm"),
    ("POST", "/swarm/leave", "swarm"),
    ("GET", "/nodes", "swarm nodes"),
    ("GET", "/services", "swarm services"),
    ("POST", "/services/create", "swarm services"),
    ("GET", "/tasks", "swarm tasks"),
    ("GET", "/secrets", "swarm secrets"),
    ("GET", "/configs", "swarm configs"),
]


def _not_implemented(method: str, path: str, what: str):
    async def handler(request: web.Request) -> web.Response:
        from runtime.service.wire import error_response
        return error_response(501, f"{method} {path} ({what}) is not implemented by "
                                   "Moorage's engine")
    return handler


def _pattern(path: str) -> str:
    # Under any API version; image names have slashes.
    return "/" + VERSION + path[1:].replace("{name}", "{name:.+}")


def add_all(router: web.UrlDispatcher) -> None:
    for method, path, handler in IMPLEMENTED:
        router.add_route(method, _pattern(path), handler)
    for method, path, what in NOT_IMPLEMENTED:
        router.add_route(method, _pattern(path), _not_implemented(method, path, what))
