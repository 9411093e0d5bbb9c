"""What a stack looks like now: its services, each with its containers (the console's rows,
as the host last reported them), their state, health and published ports, and the stack's
state in one word. Read from the rows: the host's worker keeps them (its syncs, and every
job of the stack)."""
from dataclasses import dataclass, field

from console.containers.models import Container

RUNNING = ("running",)
STOPPED = ("exited", "created", "dead")


@dataclass
class Port:
    published: str          # "0.0.0.0:8080"
    target: str             # "80/tcp"
    port: str               # "8080"
    address: str            # "" for every address


@dataclass
class Service:
    name: str
    containers: list = field(default_factory=list)

    @property
    def state(self) -> str:
        states = [container.state for container in self.containers]
        if not states:
            return "missing"
        if all(state == "running" for state in states):
            return "running"
        return next(state for state in states if state != "running")

    @property
    def health(self) -> str:
        """healthy, unhealthy or starting (its worst container's), or "" without a check."""
        found = [health_of(container) for container in self.containers]
        for word in ("unhealthy", "starting", "healthy"):
            if word in found:
                return word
        return ""

    @property
    def ports(self) -> list[Port]:
        return [port for container in self.containers for port in ports_of(container)]


def health_of(container) -> str:
    return (((container.inspect_data or {}).get("State") or {}).get("Health") or {}).get(
        "Status") or ""


def ports_of(container) -> list[Port]:
    settings = (container.inspect_data or {}).get("NetworkSettings") or {}
    found = []
    for target, bindings in sorted((settings.get("Ports") or {}).items()):
        for binding in bindings or []:
            address = binding.get("HostIp") or ""
            shown = "" if address in ("", "0.0.0.0", "::") else address
            found.append(Port(published=f"{address or '0.0.0.0'}:{binding.get('HostPort')}",
                              target=target, port=str(binding.get("HostPort") or ""),
                              address=shown))
    return found


def rows_of(stacks) -> dict[str, Container]:
    """The container rows of `stacks`, by engine ID, in one query."""
    ids = [entry for stack in stacks for entry in stack.container_ids]
    if not ids:
        return {}
    return {row.engine_id: row for row in Container.objects.filter(engine_id__in=ids)
            .select_related("host", "team")}


def services(stack, rows: dict | None = None) -> list[Service]:
    """The stack's services: those of its current file, in order, then any other it has
    containers of (one a newer file dropped, or a stack made outside the console)."""
    rows = rows if rows is not None else rows_of([stack])
    current = stack.current
    by_name = {name: Service(name) for name in (current.services if current else [])}
    for entry in stack.containers or []:
        row = rows.get(entry["id"])
        if row is None:
            continue
        by_name.setdefault(entry.get("service") or "?", Service(entry.get("service") or "?")) \
            .containers.append(row)
    return list(by_name.values())


def state_of(stack, found: list[Service]) -> str:
    """running, partly running, stopped, down (no containers) or removing."""
    if stack.state == stack.State.REMOVING:
        return "removing"
    states = [service.state for service in found if service.containers]
    if not states:
        return "down"
    if all(state == "running" for state in states) and all(s.containers for s in found):
        return "running"
    if not any(state == "running" for state in states):
        return "stopped"
    return "partial"
