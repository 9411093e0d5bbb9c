"""`diff` and `commit`: a container's writable layer as file changes, and as a new image.

The container's upper dir is already a layer in overlay form: changed and added files as they
are, a deleted file as a 0/0 character device, a replaced directory marked opaque. `commit`
copies it into a new store layer in one pass while hashing its canonical tar (which carries the
OCI whiteouts `.wh.NAME` and `.wh..wh..opq`), then writes the new image's config: the parent's,
with the container's config, the `--change` instructions, and one more history entry.
"""

import copy
import json
import os
import shlex
import stat

from runtime import events
from runtime.container.state import rfc3339_ns
from runtime.errors import InvalidArgument

ADDED, CHANGED, DELETED = "A", "C", "D"
OPAQUE_XATTR = "trusted.overlay.opaque"


def _is_whiteout(st) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _lower_dirs(engine, container) -> list[str]:
    """The read-only layers under the container's upper dir, top first."""
    layers = [engine.store.layer_diff(chain) for chain in reversed(container.config["Layers"])]
    return [container.path("init")] + layers


def _in_lowers(lowers: list[str], relative: str) -> bool:
    parts = relative.split("/")
    for layer in lowers:
        # A directory marked opaque in this layer hides everything below it further down.
        hidden = False
        for depth in range(1, len(parts)):
            parent = os.path.join(layer, *parts[:depth])
            try:
                st = os.lstat(parent)
            except FileNotFoundError:
                break
            if _is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                return False
            if _is_opaque(parent):
                hidden = True
        try:
            st = os.lstat(os.path.join(layer, relative))
            return not _is_whiteout(st)
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            return False
        if hidden:
            return False
    return False


def diff(engine, container) -> list[tuple[str, str, int]]:
    """Changes of the container's file system against its image: (kind, path, size), kind
    A (added), C (changed) or D (deleted), sorted by path."""
    upper = container.path("upper")
    lowers = _lower_dirs(engine, container)
    changes = []

    def walk(directory: str, relative: str):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            child = f"{relative}/{entry.name}" if relative else entry.name
            st = entry.stat(follow_symlinks=False)
            if _is_whiteout(st):
                if _in_lowers(lowers, child):
                    changes.append((DELETED, "/" + child, 0))
                continue
            existed = _in_lowers(lowers, child)
            size = st.st_size if stat.S_ISREG(st.st_mode) else 0
            changes.append((CHANGED if existed else ADDED, "/" + child, size))
            if stat.S_ISDIR(st.st_mode):
                if existed and _is_opaque(entry.path):
                    mine = set(os.listdir(entry.path))
                    for layer in lowers:
                        try:
                            for name in os.listdir(os.path.join(layer, child)):
                                if name not in mine and _in_lowers(lowers, f"{child}/{name}"):
                                    changes.append((DELETED, f"/{child}/{name}", 0))
                                    mine.add(name)
                        except (FileNotFoundError, NotADirectoryError):
                            continue
                walk(entry.path, child)

    walk(upper, "")
    changes.sort(key=lambda change: change[1])
    return changes


# -- --change instructions ------------------------------------------------------------------

def _command(value: str, shell: bool = True) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            return parsed
    return ["/bin/sh", "-c", value] if shell else shlex.split(value)


def _pairs(value: str) -> list[tuple[str, str]]:
    """`K=V K2="a b"` or the legacy `K V`."""
    tokens = shlex.split(value)
    if tokens and "=" not in tokens[0]:
        return [(tokens[0], value.split(None, 1)[1] if len(tokens) > 1 else "")]
    pairs = []
    for token in tokens:
        key, sep, val = token.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid key=value pair: {token!r}")
        pairs.append((key, val))
    return pairs


def _healthcheck(value: str) -> dict:
    """`HEALTHCHECK [--interval=...] CMD ...|NONE`, read as a Dockerfile's."""
    from runtime.image.build import instructions, metadata, parser
    try:
        node = parser.parse_instruction(f"HEALTHCHECK {value}", 1)
        command = instructions.command(node, "\\")
    except parser.DockerfileError as error:
        raise InvalidArgument(error.message.split(": ", 1)[-1]) from None
    return metadata.healthcheck_config(command)


def apply_changes(config: dict, changes) -> dict:
    """Apply Dockerfile instructions (CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, LABEL, USER,
    VOLUME, STOPSIGNAL, HEALTHCHECK) to an image's `config` object."""
    cmd_set = False
    for change in changes or []:
        instruction, _, value = change.strip().partition(" ")
        instruction = instruction.upper()
        value = value.strip()
        if not value:
            raise InvalidArgument(f"{instruction or 'change'} needs a value: {change!r}")
        if instruction == "CMD":
            config["Cmd"] = _command(value)
            cmd_set = True
        elif instruction == "ENTRYPOINT":
            config["Entrypoint"] = _command(value)
            if not cmd_set:  # as in a Dockerfile: a new entrypoint drops the inherited CMD
                config.pop("Cmd", None)
        elif instruction == "ENV":
            env = [e for e in config.get("Env") or []]
            for key, val in _pairs(value):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={val}"]
            config["Env"] = env
        elif instruction == "WORKDIR":
            base = config.get("WorkingDir") or "/"
            config["WorkingDir"] = os.path.normpath(os.path.join(base, value))
        elif instruction == "EXPOSE":
            exposed = dict(config.get("ExposedPorts") or {})
            for port in value.split():
                number, _, proto = port.partition("/")
                if not number.isdigit() or proto not in ("", "tcp", "udp", "sctp"):
                    raise InvalidArgument(f"invalid port in EXPOSE: {port!r}")
                exposed[f"{number}/{proto or 'tcp'}"] = {}
            config["ExposedPorts"] = exposed
        elif instruction == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(dict(_pairs(value)))
            config["Labels"] = labels
        elif instruction == "USER":
            config["User"] = value
        elif instruction == "VOLUME":
            volumes = dict(config.get("Volumes") or {})
            paths = _command(value, shell=False) if value.startswith("[") else value.split()
            for path in paths:
                volumes[path] = {}
            config["Volumes"] = volumes
        elif instruction == "STOPSIGNAL":
            config["StopSignal"] = value
        elif instruction == "HEALTHCHECK":
            config["Healthcheck"] = _healthcheck(value)
        else:
            raise InvalidArgument(f"{instruction} is not a valid change command (use CMD, "
                                  "ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, "
                                  "STOPSIGNAL or HEALTHCHECK)")
    return config


IMAGE_CONFIG_KEYS = ("User", "ExposedPorts", "Env", "Cmd", "Entrypoint", "Volumes",
                     "WorkingDir", "Labels", "StopSignal", "Healthcheck", "Shell")


def hold_for_tests() -> None:
    """When $MOORAGE_COMMIT_HOLD names a FIFO, wait there once the container is frozen (or
    found paused by its user): write "frozen\n" to the FIFO's reader, then hold until the
    reader closes it. Tests use it to act at exactly the moment a commit holds the container
    frozen, e.g. to kill the committing process then."""
    path = os.environ.get("MOORAGE_COMMIT_HOLD")
    if not path:
        return
    import select
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"frozen\n")
        poller = select.poll()
        poller.register(fd, select.POLLERR | select.POLLHUP)
        while not poller.poll():
            pass
    finally:
        os.close(fd)


def commit(engine, container, repository: str | None = None, message: str | None = None,
           author: str | None = None, changes=(), pause: bool = True,
           config: dict | None = None, created_by: str | None = None,
           origin: str | None = None) -> str:
    """Make a new image of the container's file system; returns its ID.

    `config` and `created_by`, when given, replace the image config taken from the container
    and the history's command: a build step runs a container with its own command and build
    arguments but commits the stage's config (Docker's CommitConfig.Config), and marks its
    image `origin="build"` (the build cache)."""
    from runtime.container import control
    from runtime.image import layers, reference
    if repository:
        reference.parse(repository)  # refuse a bad name before doing any work
    image_id = container.config["Image"]
    parent_config = engine.store.config(image_id)
    new = copy.deepcopy(parent_config)
    container_config = container.config["Config"]
    image_config = {key: copy.deepcopy(container_config.get(key)) for key in IMAGE_CONFIG_KEYS
                    if container_config.get(key) not in (None, "", [], {})}
    if config is not None:
        image_config = copy.deepcopy(config)
    new["config"] = apply_changes(image_config, changes)

    # The freeze is recorded, with this process as its holder, before the freezer is
    # touched: should this process die holding it, the next command thaws the container.
    frozen = pause and control.hold_frozen(engine, container, "commit")
    try:
        hold_for_tests()
        upper = container.path("upper")
        created = rfc3339_ns()
        chains = container.config["Layers"]
        empty = not os.listdir(upper)
        with engine.store.lock():
            diff_ids = list((new.get("rootfs") or {}).get("diff_ids") or [])
            if not empty:
                diff_id, chain_id, size = layers.copy_directory(
                    engine.store, upper, chains[-1] if chains else None)
                diff_ids.append(diff_id)
            command = created_by if created_by is not None else " ".join(
                list(container_config.get("Entrypoint") or []) +
                list(container_config.get("Cmd") or []))
            entry = {"created": created, "created_by": command}
            if author:
                entry["author"] = author
            if message:
                entry["comment"] = message
            if empty:
                entry["empty_layer"] = True
            new["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
            new["history"] = list(new.get("history") or []) + [entry]
            new["created"] = created
            new["author"] = author or ""
            new.pop("container", None)
            new.pop("container_config", None)
            new_id = engine.store.add_image(
                json.dumps(new, sort_keys=True, separators=(",", ":")).encode(),
                parent=image_id, origin=origin)
            tagged = engine.store.tag(new_id, repository) if repository else ""
    finally:
        if frozen:
            control.release_frozen(engine, container)
    if tagged:
        events.image(engine, "tag", new_id, tagged, (new["config"] or {}).get("Labels"))
    events.container(engine, container, "commit",
                     {"comment": message or "", "imageID": new_id, "imageRef": tagged})
    return new_id
