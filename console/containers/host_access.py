"""What of the host a container holds: privileges, bind mounts of its directories (a named
volume is not one), added capabilities, the host's network (itself, or through the
containers whose network it joined). A shell in such a container is a shell on the host:
only superusers get one (`streams.access`), and only they may run a container that joins
such a network (`run_request`)."""
from console.containers.models import Container


def uses_host_network(container: Container, hops: int = 8) -> bool:
    """Whether `container` is in the host's network namespace, itself or through the
    containers whose network it joined (`container:<id>`, followed to the end)."""
    seen = set()
    while hops and container is not None and container.pk not in seen:
        seen.add(container.pk)
        mode = container.network_mode
        if mode == "host":
            return True
        if not mode.startswith("container:"):
            return False
        other = mode.split(":", 1)[1]
        container = Container.objects.filter(host_id=container.host_id).resolve(other).first()
        hops -= 1
    return container is not None     # a chain too long to follow is not believed


def host_binds(binds) -> list[str]:
    """The `-v` values among `binds` that bind a directory of the host (`/dir:/path`), not a
    named volume (`name:/path`) nor an anonymous one (`/path`)."""
    return [bind for bind in binds or [] if ":" in str(bind)
            and str(bind).split(":", 1)[0].startswith(("/", ".", "~"))]


def host_access(container: Container) -> list[str]:
    """What of the host `container` holds, by the engine's record (and the request's options
    until the engine has reported)."""
    host_config = (container.inspect_data or {}).get("HostConfig") or {}
    options = container.options or {}
    held = []
    if host_config.get("Privileged") or options.get("privileged"):
        held.append("privileged")
    if host_binds(host_config.get("Binds")) or host_binds(options.get("binds")) or any(
            mount.get("Type") == "bind" for mount in (container.inspect_data or {}).get(
                "Mounts") or []):
        held.append("bind mounts of the host")
    if host_config.get("CapAdd") or options.get("cap_add"):
        held.append("added capabilities")
    if uses_host_network(container):
        held.append("the host's network")
    return held
