"""Docker-shaped views of a container: the `ps` summary and the `inspect` document."""

import time

from runtime.container.state import PAUSED, RESTARTING, RUNNING, ZERO_TIME, Container


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_time(text: str | None) -> float | None:
    """Unix seconds of the engine's own UTC times ("2026-11-29T05:00:02.319614317Z"); `ps`
    parses hundreds of them, so this is plain arithmetic rather than strptime."""
    if not text or text.startswith("0001-") or len(text) < 19:
        return None
    try:
        days = _days_from_civil(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        seconds = days * 86400 + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + \
            int(text[17:19])
    except ValueError:
        return None
    fraction = text[20:].rstrip("Z") if text[19:20] == "." else ""
    return seconds + (int(fraction) / 10 ** len(fraction) if fraction.isdigit() else 0.0)


def human_duration(seconds: float) -> str:
    """Docker's go-units HumanDuration."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = seconds / 60
    if int(minutes) == 1:
        return "About a minute"
    if minutes < 60:
        return f"{int(minutes)} minutes"
    hours = minutes / 60
    if int(round(hours)) == 1:
        return "About an hour"
    if hours < 48:
        return f"{int(hours)} hours"
    if hours < 24 * 7 * 2:
        return f"{int(hours / 24)} days"
    if hours < 24 * 30 * 2:
        return f"{int(hours / 24 / 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{int(hours / 24 / 30)} months"
    return f"{int(hours / 24 / 365)} years"


def status_text(container: Container, now: float | None = None) -> str:
    now = now or time.time()
    state = container.state
    status = state["Status"]
    if status in (RUNNING, PAUSED):
        started = parse_time(state.get("StartedAt")) or now
        text = f"Up {human_duration(now - started)}"
        return text + " (Paused)" if status == PAUSED else text
    if status == RESTARTING:
        finished = parse_time(state.get("FinishedAt")) or now
        return f"Restarting ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"
    if status == "exited":
        finished = parse_time(state.get("FinishedAt")) or now
        return f"Exited ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"
    if status == "dead":
        return "Dead"
    if status == "removing":
        return "Removal In Progress"
    return "Created"


def command_text(container: Container) -> str:
    config = container.config["Config"]
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    return " ".join(argv)


def live_network_settings(engine, container: Container) -> dict:
    """The container's NetworkSettings as they are now (connect/disconnect change them after
    the start); for a container that is not running, what was recorded at its start."""
    settings = container.state.get("NetworkSettings") or {}
    mode = container.host_config.get("NetworkMode") or "none"
    # Only bridged containers can be connected to and disconnected from networks.
    if container.status in (RUNNING, PAUSED) and settings.get("Networks") and \
            mode not in ("none", "host") and not mode.startswith("container:"):
        from runtime import network
        settings = network.network_settings(engine.paths, container.id) or settings
    return settings


def ports_list(engine, container: Container) -> list[dict]:
    """Docker's `Ports` list: published ports of a running container, else the exposed ones."""
    settings = live_network_settings(engine, container)
    ports = []
    running = container.status in (RUNNING, PAUSED)
    def by_number(item):
        number, _, proto = item[0].partition("/")
        return (int(number) if number.isdigit() else 0, proto)
    for key, bindings in sorted((settings.get("Ports") or {}).items(), key=by_number):
        number, _, proto = key.partition("/")
        if running and bindings:
            for binding in bindings:
                ports.append({"IP": binding.get("HostIp") or "0.0.0.0",
                              "PrivatePort": int(number),
                              "PublicPort": int(binding.get("HostPort") or 0),
                              "Type": proto or "tcp"})
        else:
            ports.append({"PrivatePort": int(number), "Type": proto or "tcp"})
    return ports


def summary(engine, container: Container) -> dict:
    from runtime.container import health
    created = parse_time(container.config.get("Created")) or 0
    shown = health.view(engine, container)
    result = {
        "Id": container.id,
        "Names": ["/" + container.name],
        "Image": container.config.get("ImageRef") or container.config["Image"],
        "ImageID": container.config["Image"],
        "Command": command_text(container),
        "Created": int(created),
        "State": container.status,
        "Status": status_text(container) + (health.status_suffix(shown)
                                            if container.status == RUNNING else ""),
        "ExitCode": container.state.get("ExitCode", 0),
        "Ports": ports_list(engine, container),
        "Labels": container.config["Config"].get("Labels") or {},
        "HostConfig": {"NetworkMode": container.host_config.get("NetworkMode") or "none"},
    }
    if shown:
        result["Health"] = {"Status": shown["Status"], "FailingStreak": shown["FailingStreak"]}
    return result


def full(engine, container: Container) -> dict:
    config = container.config
    state = container.state
    status = state["Status"]
    argv = list(config["Config"].get("Entrypoint") or []) + list(config["Config"].get("Cmd")
                                                                   or [])
    lower = []
    for chain in reversed(config.get("Layers") or []):
        try:
            lower.append(engine.store.layer_diff(chain))
        except Exception:
            pass
    host = dict(config["HostConfig"])
    host.pop("PortSpecs", None)
    from runtime.volume import mountpoints
    mounts = mountpoints.inspect_mounts(container)
    settings = live_network_settings(engine, container)
    if status not in (RUNNING, PAUSED) and settings:
        settings = {**settings, "IPAddress": "", "Ports": {}}
    from runtime.container import health
    shown = health.view(engine, container)
    return {
        "Id": container.id,
        "Created": config.get("Created"),
        "Path": argv[0] if argv else "",
        "Args": argv[1:],
        "State": {
            "Status": status,
            "Running": status in (RUNNING, PAUSED),
            "Paused": status == PAUSED,
            "Restarting": status == RESTARTING,
            "OOMKilled": bool(state.get("OOMKilled")),
            "Dead": status == "dead",
            "Pid": state.get("Pid", 0) if status in (RUNNING, PAUSED) else 0,
            "ExitCode": state.get("ExitCode", 0),
            "Error": state.get("Error", ""),
            "StartedAt": state.get("StartedAt") or ZERO_TIME,
            "FinishedAt": state.get("FinishedAt") or ZERO_TIME,
            **({"Health": shown} if shown else {}),
        },
        "Image": config["Image"],
        "ResolvConfPath": container.path("resolv.conf"),
        "HostnamePath": container.path("hostname"),
        "HostsPath": container.path("hosts"),
        "LogPath": container.path("ctr.log"),
        "Name": "/" + container.name,
        "RestartCount": state.get("RestartCount", 0),
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": host,
        "GraphDriver": {"Name": "overlay", "Data": {
            "LowerDir": ":".join([container.path("init")] + lower),
            "MergedDir": container.path("merged"),
            "UpperDir": container.path("upper"),
            "WorkDir": container.path("work"),
        }},
        "Mounts": mounts,
        "Config": config["Config"],
        "NetworkSettings": settings or {"Networks": {}, "Ports": {}, "IPAddress": "",
                                        "Gateway": "", "MacAddress": ""},
        "SizeRootFs": None,
    }
