"""From the console's rows to the engine's words (pure functions, unit-tested)."""
import re
from datetime import datetime, timezone

ZERO_TIME = "0001-01-01T00:00:00Z"


def create_options(container) -> dict:
    """`Engine.create` options for a requested container (names as in `POST /api/containers/`)."""
    options = {"id": container.engine_id,
               "image": container.image.image_id if container.image else container.image_ref}
    if container.image and container.image_ref and container.image_ref != options["image"]:
        # The image the console checked runs (by ID); `moor ps` on the host shows its name.
        options["image_name"] = container.image_ref
    if container.name:
        options["name"] = container.name
    if container.command:
        options["cmd"] = list(container.command)
    if container.env:
        options["env"] = list(container.env)
    # The options `containers.run_request.validate_run` kept, under the engine's own names
    # (tests/console/containers/test_run_contract.py holds the two to the same list).
    for key, value in container.options.items():
        if value not in (None, "", [], {}):
            options[key] = value
    options["labels"] = {"moorage.team": container.team.name if container.team else ""}
    if container.team_id:
        # The team's group on the host, whose limits are its quota there (agent/team_groups).
        options["group"] = container.team.group
    return options


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value) -> datetime | None:
    """An engine timestamp (RFC 3339 with up to nanoseconds, or unix seconds) as an aware
    datetime; None for Docker's zero time or nothing."""
    if value in (None, "", 0, ZERO_TIME) or str(value).startswith("0001-01-01"):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def state_from_inspect(data: dict) -> dict:
    """The fields of a Container row that an engine `inspect` answer determines."""
    state = data.get("State") or {}
    status = state.get("Status") or ("running" if state.get("Running") else "exited")
    exit_code = state.get("ExitCode")
    started = parse_time(state.get("StartedAt"))
    return {
        "state": status,
        "exit_code": exit_code if status in ("exited", "dead") else None,
        "started_at": started,
        "finished_at": parse_time(state.get("FinishedAt")),
        "name": (data.get("Name") or "").lstrip("/"),
    }
