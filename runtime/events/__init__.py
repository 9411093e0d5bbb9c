"""The engine's events journal: what happened to containers, images, networks and volumes,
as Docker's events, kept under the engine root by whichever process did it (the command
line, a host worker, conmon's exit command, the resident service), so nothing is missed while
nobody listens and `moor events --since` can replay it.

Each event is the message Docker's `/events` streams, stored as it is sent:

    {"status": "start", "id": "<64 hex>", "from": "busybox", "Type": "container",
     "Action": "start", "Actor": {"ID": "<64 hex>", "Attributes": {"image": "busybox",
     "name": "web"}}, "scope": "local", "time": 1767366245, "timeNano": 1767366245123456789}

(`status`, `id` and `from` are Docker's legacy fields, only on container and image events.)

Writing: `emit(where, type, action, actor_id, attributes)`, or the helpers that put the
attributes Docker puts: `container(...)` (the container's labels, `image`, `name`),
`image(...)` (the image's labels, `name`), `network(...)` (`name`, `type`, and `container`
for connect/disconnect), `volume(...)` (`driver`, and `container`, `destination`, `read/write`
for mount/unmount). `where` is an Engine, its Paths, or an engine root directory. Emitting
never fails the action that emits: a journal that cannot be written (a full disk) is logged
(the `runtime.events` logger, on stderr when nothing else is configured) and the action goes
on. `journal.py` has the file format, locking and rotation.

Reading: `read(where, since, until, filters, follow, stop)`, behind `Engine.events` and
`moor events`.
"""

import os

SCOPE = "local"
# Beside a container's exit file once its `die` is in the journal: whoever notices the end
# first (conmon's exit command, `stop`, `rm -f`, a start after a crash) writes it, once.
EXIT_JOURNALED = "exit.journaled"


def _root(where) -> str:
    if isinstance(where, str):
        return where
    paths = getattr(where, "paths", where)
    return paths.root


def emit(where, kind: str, action: str, actor_id: str, attributes: dict | None = None
         ) -> dict | None:
    """Append one event; returns it, or None when the journal could not be written."""
    attributes = {str(key): str(value) for key, value in (attributes or {}).items()}
    message = {}
    if kind in ("container", "image"):
        message["status"], message["id"] = action, actor_id
        if kind == "container" and attributes.get("image"):
            message["from"] = attributes["image"]
    message.update({"Type": kind, "Action": action,
                    "Actor": {"ID": actor_id, "Attributes": attributes},
                    "scope": SCOPE, "time": 0, "timeNano": 0})
    try:
        from runtime.events import journal
        return journal.append(_root(where), message)
    except Exception as error:      # never the action's failure: see the module's docstring
        import logging
        logging.getLogger(__name__).warning("events journal: cannot record %s %s of %s: %s",
                                            kind, action, actor_id[:12], error)
        return None


def container(where, record, action: str, extra: dict | None = None) -> dict | None:
    """A container event: Docker's attributes are the container's labels, then `image` (as
    the user named it) and `name`, then `extra`."""
    config = record.config
    attributes = dict(config["Config"].get("Labels") or {})
    attributes["image"] = (config["Config"].get("Image") or config.get("ImageRef")
                           or config["Image"])
    attributes["name"] = record.name
    attributes.update(extra or {})
    return emit(where, "container", action, record.id, attributes)


def container_ended(where, record) -> None:
    """`oom` (when the kernel's OOM killer ended it) and `die` with the exit code, for the run
    of `record` that has just ended (its state refreshed): once, whoever calls first."""
    if record.status not in ("exited", "dead"):
        return
    try:
        os.close(os.open(record.path(EXIT_JOURNALED),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except OSError:         # already written by another process (or no container dir left)
        return
    from runtime.container.inspect import parse_time
    state = record.state
    if state.get("OOMKilled") or os.path.exists(record.path("oom")):
        container(where, record, "oom")
    started, finished = parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt"))
    extra = {"exitCode": state.get("ExitCode", 0)}
    if started and finished:
        extra["execDuration"] = max(0, int(finished - started))
    container(where, record, "die", extra)


def image(where, action: str, actor_id: str, name: str | None = None,
          labels: dict | None = None) -> dict | None:
    """An image event as Docker's daemon logs it: the actor is the image ID (or, for pull
    and push, the reference), with the image's labels and `name`."""
    attributes = dict(labels or {})
    if name:
        attributes["name"] = name
    return emit(where, "image", action, actor_id, attributes)


def image_labels(store, image_id: str) -> dict:
    """The labels of an image in `store` ({} when it is gone)."""
    try:
        return dict((store.config(image_id).get("config") or {}).get("Labels") or {})
    except Exception:
        return {}


def network(where, action: str, network_id: str, name: str, driver: str = "bridge",
            container_id: str | None = None) -> dict | None:
    """A network event: create/destroy, or connect/disconnect of `container_id`."""
    attributes = {"name": name, "type": driver}
    if container_id:
        attributes["container"] = container_id
    return emit(where, "network", action, network_id, attributes)


def volume(where, action: str, name: str, driver: str = "local", container_id: str = "",
           destination: str = "", read_write: bool | None = None,
           propagation: str = "") -> dict | None:
    """A volume event, as Docker's: `create` and `destroy` with the `driver`; `mount` (when a
    starting container mounts it) and `unmount` with the `container`, its `destination`, and
    for mount `read/write` and `propagation`."""
    attributes = {"driver": driver}
    if container_id:
        attributes["container"] = container_id
    if destination:
        attributes["destination"] = destination
    if read_write is not None:
        attributes["read/write"] = "true" if read_write else "false"
    if action == "mount":
        attributes["propagation"] = propagation
    return emit(where, "volume", action, name, attributes)


def read(where, since=None, until=None, filters=None, follow: bool = False, stop=None):
    """Events of the journal in order, as dicts, that match `filters` (see `filters.py`):
    from `since` (see `times.parse`; without it, everything, or when following only what comes
    from now on) to `until`; with `follow`, waiting for more until `until` passes or
    `stop()` (a callable, or a threading.Event) is true."""
    from runtime.events import filters as event_filters, journal, times
    wanted = event_filters.EventFilter(filters)       # bad filters and times fail here,
    since_ns = times.parse(since, "--since")           # before the first event
    until_ns = times.parse(until, "--until")
    check = stop.is_set if hasattr(stop, "is_set") else stop
    events = journal.read(_root(where), since_ns, until_ns, follow, check)
    return (event for event in events if wanted.matches(event))
