"""Between Docker's JSON (`Config`, `HostConfig`, `NetworkingConfig` of `POST
/containers/create`) and `Engine.create`'s options (`runtime/container/options.py`).

Docker's clients send every field of these objects, most of them empty. Each field is one of:
- translated into an engine option;
- a field of Docker's whose empty value means "the default", and whose other values this
  engine cannot honour: refused with a 400 naming it, never silently dropped;
- not a field of Docker's API at all: refused (a typo would otherwise be ignored).
"""

from runtime.service.wire import ApiError

# Docker Engine API 1.41's ContainerConfig and HostConfig fields that are not translated
# below: accepted while empty (null, "", 0, false, [], {}), refused otherwise.
CONFIG_UNSUPPORTED = {
    "ArgsEscaped", "NetworkDisabled", "MacAddress", "OnBuild", "Shell",
}
CONFIG_IGNORED = {
    # What to attach is said by the attach request itself.
    "AttachStdin", "AttachStdout", "AttachStderr",
}
HOST_CONFIG_UNSUPPORTED = {
    "CpuShares", "CgroupParent", "BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "DeviceCgroupRules",
    "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation",
    "MemorySwappiness", "OomKillDisable", "CpuCount", "CpuPercent",
    "IOMaximumIOps", "IOMaximumBandwidth", "VolumesFrom",
    "CgroupnsMode", "GroupAdd", "IpcMode",
    "Cgroup", "Links", "OomScoreAdj", "PidMode", "StorageOpt",
    "UTSMode", "UsernsMode", "Sysctls", "Isolation", "MaskedPaths", "ReadonlyPaths",
}
HOST_CONFIG_IGNORED = {
    # The client's terminal size: the attach's resize request sets it.
    "ConsoleSize",
    # `--cidfile`: the client writes the file itself (Docker's daemon only keeps the name).
    "ContainerIDFile",
}
CONFIG_TRANSLATED = {
    "Hostname", "Domainname", "User", "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env",
    "Cmd", "Healthcheck", "Image", "Volumes", "WorkingDir", "Entrypoint", "Labels",
    "StopSignal", "StopTimeout",
}
HOST_CONFIG_TRANSLATED = {
    "Memory", "MemorySwap", "NanoCpus", "CpuPeriod", "CpuQuota", "PidsLimit", "Binds",
    "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove", "Mounts",
    "CapAdd", "CapDrop", "Privileged", "PublishAllPorts", "ReadonlyRootfs", "ShmSize",
    "Runtime", "Tmpfs", "VolumeDriver", "Init", "ExtraHosts", "Dns", "DnsSearch",
    "DnsOptions", "Ulimits", "SecurityOpt", "Devices",
}
# HostConfig fields passed to the engine as they are (it checks them as `moor run` does).
HOST_CONFIG_AS_IS = {"ExtraHosts": "extra_hosts", "Dns": "dns", "DnsSearch": "dns_search",
                     "DnsOptions": "dns_options", "Ulimits": "ulimits",
                     "SecurityOpt": "security_opt", "Devices": "devices"}
LOG_DRIVERS = ("", "json-file", "k8s-file")
# Fields whose "not set" is not Docker's zero value.
UNSET = {"MemorySwappiness": -1}


def is_empty(value) -> bool:
    """Docker's zero values, looked into: `{"Type": "", "Config": {}}` is empty too."""
    if value is None or value is False or value == "" or value == 0:
        return True
    if isinstance(value, dict):
        return all(is_empty(item) for item in value.values())
    if isinstance(value, list):
        return all(is_empty(item) for item in value)
    return False


def _check_fields(document: dict, where: str, translated: set, unsupported: set,
                  ignored: set) -> None:
    for key, value in document.items():
        if key in translated or key in ignored:
            continue
        if key in unsupported:
            if not is_empty(value) and value != UNSET.get(key):
                raise ApiError(400, f"{where}.{key} is not supported by Moorage's engine")
            continue
        raise ApiError(400, f"unknown field {where}.{key}")


def _strings(value, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ApiError(400, f"invalid {what}: expected a list of strings")


def _list(value, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, f"invalid {what}: expected a list")
    return value


def _ports(bindings) -> list[str]:
    """PortBindings `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` -> `-p` specs."""
    if not isinstance(bindings, dict):
        raise ApiError(400, "invalid HostConfig.PortBindings: expected an object")
    specs = []
    for key, hosts in bindings.items():
        number, _, proto = str(key).partition("/")
        suffix = f"/{proto}" if proto else ""
        for host in hosts or [{}]:
            if not isinstance(host, dict):
                raise ApiError(400, "invalid HostConfig.PortBindings: expected objects")
            address, port = host.get("HostIp") or "", str(host.get("HostPort") or "")
            if address:
                specs.append(f"{address}:{port}:{number}{suffix}")
            elif port:
                specs.append(f"{port}:{number}{suffix}")
            else:
                specs.append(f"{number}{suffix}")
    return specs


def _restart(policy) -> str | None:
    if not policy:
        return None
    if not isinstance(policy, dict):
        raise ApiError(400, "invalid HostConfig.RestartPolicy: expected an object")
    name = policy.get("Name") or ""
    if not name or name == "no":
        return None
    count = policy.get("MaximumRetryCount") or 0
    if name == "on-failure" and count:
        return f"on-failure:{int(count)}"
    return name


def create_options(body: dict, name: str | None) -> dict:
    """`POST /containers/create`'s body (and `name` parameter) -> `Engine.create` options."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid container configuration: expected a JSON object")
    host = body.get("HostConfig") or {}
    networking = body.get("NetworkingConfig") or {}
    config = {key: value for key, value in body.items()
              if key not in ("HostConfig", "NetworkingConfig")}
    if not isinstance(host, dict) or not isinstance(networking, dict):
        raise ApiError(400, "invalid HostConfig or NetworkingConfig: expected objects")
    _check_fields(config, "Config", CONFIG_TRANSLATED, CONFIG_UNSUPPORTED, CONFIG_IGNORED)
    _check_fields(host, "HostConfig", HOST_CONFIG_TRANSLATED, HOST_CONFIG_UNSUPPORTED,
                  HOST_CONFIG_IGNORED)
    if not config.get("Image"):
        raise ApiError(400, "Config.Image is required")
    options: dict = {"image": config["Image"]}
    if name:
        options["name"] = name
    cmd = _strings(config.get("Cmd"), "Config.Cmd")
    if cmd:
        options["cmd"] = cmd
    entrypoint = config.get("Entrypoint")
    if entrypoint is not None:
        entrypoint = _strings(entrypoint, "Config.Entrypoint")
        # `--entrypoint ""` arrives as [""]: no entrypoint at all.
        options["entrypoint"] = [part for part in entrypoint if part] if entrypoint != [""] \
            else []
    # An entry without "=" names a variable of the client's environment that was not set
    # there; the engine would otherwise take it from the service's own environment.
    env = [item for item in _strings(config.get("Env"), "Config.Env") or [] if "=" in item]
    if env:
        options["env"] = env
    for key, option in (("WorkingDir", "workdir"), ("Hostname", "hostname"),
                        ("Domainname", "domainname"), ("StopSignal", "stop_signal")):
        if config.get(key):
            options[option] = config[key]
    if config.get("User"):
        options["user"] = config["User"]
    for key, option in (("Tty", "tty"), ("OpenStdin", "stdin_open"),
                        ("StdinOnce", "stdin_once")):
        if config.get(key):
            options[option] = True
    if config.get("StopTimeout") is not None:
        options["stop_timeout"] = config["StopTimeout"]
    if config.get("Labels"):
        if not isinstance(config["Labels"], dict):
            raise ApiError(400, "invalid Config.Labels: expected an object")
        options["labels"] = config["Labels"]
    if config.get("ExposedPorts"):
        if not isinstance(config["ExposedPorts"], dict):
            raise ApiError(400, "invalid Config.ExposedPorts: expected an object")
        options["expose"] = list(config["ExposedPorts"])
    if not is_empty(config.get("Healthcheck")):
        options["healthcheck"] = config["Healthcheck"]

    # Mounts go to the engine as Docker sent them: it parses and checks them with Docker's
    # rules and wording (runtime/volume/specs.py), so an error here reads like dockerd's.
    binds = _list(host.get("Binds"), "HostConfig.Binds")
    if not all(isinstance(text, str) for text in binds):
        raise ApiError(400, "invalid HostConfig.Binds: expected a list of strings")
    if binds:
        options["binds"] = binds
    mounts = _list(host.get("Mounts"), "HostConfig.Mounts")
    if mounts:
        options["mounts"] = mounts
    if host.get("Tmpfs"):
        if not isinstance(host["Tmpfs"], dict):
            raise ApiError(400, "invalid HostConfig.Tmpfs: expected an object")
        options["tmpfs"] = host["Tmpfs"]
    volumes = config.get("Volumes") or {}
    if not isinstance(volumes, dict):
        raise ApiError(400, "invalid Config.Volumes: expected an object")
    if volumes:
        # Anonymous volumes, except where another mount has that destination already.
        options["volumes"] = list(volumes)
    if host.get("VolumeDriver") not in (None, "", "local"):
        raise ApiError(400, f"volume driver {host['VolumeDriver']} is not supported by "
                            "Moorage's engine (it has the local driver only)")
    log_config = host.get("LogConfig") or {}
    if not isinstance(log_config, dict):
        raise ApiError(400, "invalid HostConfig.LogConfig: expected an object")
    log_type = log_config.get("Type") or ""
    if log_type not in LOG_DRIVERS:
        raise ApiError(400, f"log driver {log_type} is not supported by Moorage's engine: "
                            "logs are kept by the engine and read through the logs endpoint")
    log_opts = (host.get("LogConfig") or {}).get("Config") or {}
    if not isinstance(log_opts, dict):
        raise ApiError(400, "invalid HostConfig.LogConfig.Config: expected an object")
    if log_opts:
        # json-file's max-size and max-file: the engine caps its logs the same way (it
        # refuses other options by name).
        options["log_opts"] = log_opts
    if host.get("Init"):
        options["init"] = True
    for key, option in HOST_CONFIG_AS_IS.items():
        if not is_empty(host.get(key)):
            options[option] = host[key]
    if host.get("Memory"):
        options["memory"] = host["Memory"]
    if host.get("MemorySwap") and host["MemorySwap"] != -1:
        options["memory_swap"] = host["MemorySwap"]
    if host.get("NanoCpus"):
        options["cpus"] = host["NanoCpus"] / 1e9
    elif host.get("CpuQuota"):
        options["cpus"] = host["CpuQuota"] / (host.get("CpuPeriod") or 100000)
    if host.get("PidsLimit") and host["PidsLimit"] > 0:
        options["pids_limit"] = host["PidsLimit"]
    restart = _restart(host.get("RestartPolicy"))
    if restart:
        options["restart"] = restart
    for key, option in (("AutoRemove", "auto_remove"), ("Privileged", "privileged"),
                        ("PublishAllPorts", "publish_all"), ("ReadonlyRootfs", "read_only")):
        if host.get(key):
            options[option] = True
    for key, option in (("CapAdd", "cap_add"), ("CapDrop", "cap_drop")):
        if host.get(key):
            options[option] = _strings(host[key], f"HostConfig.{key}")
    if host.get("ShmSize"):
        options["shm_size"] = host["ShmSize"]
    if host.get("Runtime"):
        options["runtime"] = host["Runtime"]
    if host.get("PortBindings"):
        options["ports"] = _ports(host["PortBindings"])
    network = host.get("NetworkMode") or ""
    endpoints = networking.get("EndpointsConfig") or {}
    if not isinstance(endpoints, dict):
        raise ApiError(400, "invalid NetworkingConfig.EndpointsConfig: expected an object")
    if network in ("", "default") and len(endpoints) == 1:
        network = next(iter(endpoints))
    if network and network != "default":
        options["network"] = network
    address = ((endpoints.get(network) or {}).get("IPAMConfig") or {}).get("IPv4Address") \
        if isinstance(endpoints.get(network), dict) else None
    if address:
        options["ip"] = address
    return options
