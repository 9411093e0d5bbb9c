"""`/_ping`, `/version`, `/info`, `/system/df`, `/events`."""

import asyncio
import os
import platform

from aiohttp import web

from runtime.service import wire
from runtime.service.containers import service_of
from runtime.service.server import API_VERSION, MIN_API_VERSION

PING_HEADERS = {"API-Version": API_VERSION, "OSType": "linux", "Docker-Experimental": "false",
                "Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache"}
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


async def ping(request: web.Request) -> web.Response:
    body = b"" if request.method == "HEAD" else b"OK"
    return web.Response(body=body, headers=PING_HEADERS, content_type="text/plain")


def _engine_version() -> str:
    from runtime.cli.system import VERSION
    return VERSION


async def version(request: web.Request) -> web.Response:
    from runtime.cli.system import _runtime_versions
    service = service_of(request)
    components = await service.call(_runtime_versions)
    engine_version = _engine_version()
    arch = ARCHITECTURES.get(platform.machine(), platform.machine())
    return wire.ok_json({
        "Platform": {"Name": "Moorage Engine"},
        "Components": [{"Name": "Engine", "Version": engine_version,
                        "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                    "Os": "linux", "Arch": arch,
                                    "KernelVersion": platform.release(),
                                    "PythonVersion": platform.python_version()}}] +
                      [{"Name": name, "Version": line.split()[-1], "Details": {}}
                       for name, line in components],
        "Version": engine_version, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "", "GoVersion": "", "Os": "linux", "Arch": arch,
        "KernelVersion": platform.release(), "BuildTime": "",
    })


def _info(engine) -> dict:
    from runtime.cli.system import _os_name
    from runtime.container import seccomp
    from runtime.container.oci import KNOWN, default_name, find_binary
    containers = engine.containers(all=True)
    states = [c["State"] for c in containers]
    runtimes = {name: {"path": find_binary(name)} for name in KNOWN if find_binary(name)}
    cgroup2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    return {
        "ID": engine.paths.cgroup_parent, "Name": platform.node(),
        "Containers": len(containers), "ContainersRunning": states.count("running"),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": len(states) - states.count("running") - states.count("paused"),
        "Images": len(engine.store.image_ids()),
        "Driver": "overlay", "DriverStatus": [["Backing Filesystem", "overlay"]],
        "DockerRootDir": engine.paths.root,
        "Plugins": {"Volume": ["local"],
                    "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file"]},
        "MemoryLimit": True, "SwapLimit": os.path.exists(
            "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") or cgroup2,
        "KernelMemory": False, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": False,
        "CPUSet": False, "PidsLimit": True, "IPv4Forwarding": True, "BridgeNfIptables": True,
        "BridgeNfIp6tables": False, "Debug": False, "NFd": 0, "OomKillDisable": False,
        "NGoroutines": 0, "SystemTime": _now(), "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if cgroup2 else "1",
        "NEventsListener": 0, "KernelVersion": platform.release(),
        "OperatingSystem": _os_name(), "OSVersion": "", "OSType": "linux",
        "Architecture": platform.machine(), "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [],
                           "AllowNondistributableArtifactsHostnames": [],
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {},
                           "Mirrors": []},
        "NCPU": os.cpu_count(),
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "GenericResources": None, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Labels": [], "ExperimentalBuild": False, "ServerVersion": _engine_version(),
        "Runtimes": runtimes, "DefaultRuntime": default_name(),
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""}, "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=default"] if seccomp.available() else [],
        "Warnings": None,
    }


def _now() -> str:
    from runtime.container.state import rfc3339_ns
    return rfc3339_ns()


async def info(request: web.Request) -> web.Response:
    service = service_of(request)
    return wire.ok_json(await service.call(_info, service.engine))


def _disk_usage(engine) -> dict:
    """`Engine.system_df()` with the fields API 1.41 has and the engine's document does not:
    an image's `VirtualSize` and a cache record's single `Parent` (1.42 made it `Parents`)."""
    document = engine.system_df()
    for image in document["Images"]:
        image.setdefault("VirtualSize", image["Size"])
    for record in document["BuildCache"]:
        record.setdefault("Parent", (record.get("Parents") or [""])[0])
    return document


async def disk_usage(request: web.Request) -> web.Response:
    service = service_of(request)
    return wire.ok_json(await service.call(_disk_usage, service.engine))


EVENT_FILTERS = {"container", "event", "image", "label", "network", "type", "volume",
                 "daemon", "plugin", "node", "service", "secret", "config", "scope"}


async def events(request: web.Request) -> web.StreamResponse:
    """The engine's events journal (`Engine.events`), as Docker's daemon streams it: the past
    ones from `since`, then new ones as they happen, until `until` passes (without `until`,
    until the client leaves); without `since`, only new ones. Each event is one JSON line."""
    import threading
    service = service_of(request)
    wanted = wire.filters(request, EVENT_FILTERS)
    since, until = request.query.get("since") or None, request.query.get("until") or None
    stop = threading.Event()
    # Bad times or filters are a 400 here, before the stream starts.
    journal = await service.call(service.engine.events, since=since, until=until,
                                 filters=wanted, follow=True, stop=stop)
    loop = asyncio.get_running_loop()
    writer = wire.ThreadWriter(loop)

    def produce():
        try:
            for event in journal:
                writer.write(wire.json_line(event))
        except BrokenPipeError:
            return
        writer.finish()
    future = loop.run_in_executor(service.pool, produce)
    response = await wire.json_stream(request)      # headers at once, as Docker
    from runtime.service.containers import client_gone
    try:
        while True:
            try:
                data = await asyncio.wait_for(writer.queue.get(), timeout=0.5)
            except asyncio.TimeoutError:
                if client_gone(request):
                    return response
                continue
            if data is None:
                break
            await response.write(data)
    finally:
        stop.set()              # the follower ends, giving its thread back
        writer.close()
    await future
    await response.write_eof()
    return response
