"""Groups: named sets of containers on one engine root whose memory, CPUs and PIDs together are
held to limits the kernel enforces (a team's quota on a host).

A group is an intermediate cgroup between the root's parent and its containers'
(`moorage-<root hash>/<group>/<container id>`, see `runtime.container.cgroups`), so whatever
each container asks, the group as a whole never gets more than its limits: an allocation past
the group's memory limit OOM-kills inside the group and nowhere else. A container joins a
group at create (the option `group`, kept as `HostConfig.CgroupParent`) and stays in it.

```
<root>/groups/<name>.json   {"Name", "CreatedAt", "UpdatedAt", "Memory", "NanoCpus", "PidsLimit"}
<root>/groups.lock          taken shared by a starting container (from reading its group's
                            limits to the runtime's creating its cgroup), exclusive to change
                            or remove a group
```

The definition on disk is the truth: the cgroup is made from it where it is missing (a
container starts in it, the engine boots after a reboot) and changed with it (`group_set`
applies new limits at once, to the running containers inside too). Limits are 0 for none.
A container's own memory limit stays as it asked (limits overcommit, as Docker's do); CPUs
and PIDs above its group's are capped to the group's, while `inspect` keeps showing what was
asked (`HostConfig.NanoCpus`, `HostConfig.PidsLimit`).
"""

import contextlib
import errno
import os
import re
from typing import NamedTuple

from runtime import atomic
from runtime.container import cgroups
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from runtime.locking import locked

# One path component of a cgroup, never 64 characters (a container's cgroup is its 64-hex
# ID) so that gc tells a group's directory from a container's by its name.
VALID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
RESERVED = {"monitors"}         # the conmons' cgroup beside the groups

# Volumes with this label count towards the group's disk use.
GROUP_LABEL = "moorage.group"


def validate(name) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a group name is required")
    if not VALID.fullmatch(name):
        raise InvalidArgument(f"invalid group name {name!r}: 1 to 63 characters of "
                              "[a-zA-Z0-9_.-], starting with a letter or digit")
    if name in RESERVED:
        raise InvalidArgument(f"invalid group name {name!r}: the engine uses that name")
    return name


def directory(paths) -> str:
    return os.path.join(paths.root, "groups")


def _file(paths, name: str) -> str:
    return os.path.join(directory(paths), f"{name}.json")


def cgroup_path(paths, name: str) -> str:
    """The group's cgroup, relative to a hierarchy: "moorage-<root hash>/<name>"."""
    return f"{paths.cgroup_parent}/{name}"


def _lock(paths, shared: bool = False):
    return locked(paths.lock("groups"), shared=shared)


def definition(paths, name: str) -> dict:
    """The group's definition; NotFound when there is no such group."""
    try:
        record = atomic.read_json(_file(paths, validate(name)))
    except InvalidArgument:
        record = None
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("Name") != name:
        raise NotFound(f"No such group: {name}")
    return record


def names(paths) -> list[str]:
    try:
        entries = os.listdir(directory(paths))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        name = entry[:-len(".json")] if entry.endswith(".json") else ""
        if VALID.fullmatch(name) and name not in RESERVED:
            found.append(name)
    return sorted(found)


def is_defined(paths, name: str) -> bool:
    try:
        definition(paths, name)
    except NotFound:
        return False
    return True


def members(engine, name: str) -> list:
    """The containers of this root in the group, whatever their state."""
    from runtime.container import state
    return [c for c in state.all_containers(engine)
            if c.host_config.get("CgroupParent") == name]


def _asked(engine, name: str) -> dict[str, tuple[int, int]]:
    """Each member's own (NanoCpus, PidsLimit), to cap inside the group's."""
    return {c.id: (int(c.host_config.get("NanoCpus") or 0),
                   int(c.host_config.get("PidsLimit") or 0)) for c in members(engine, name)}


def _limits(memory, cpus, pids) -> dict:
    from runtime.container import options
    return {"Memory": options.parse_memory(memory), "NanoCpus": options.parse_cpus(cpus),
            "PidsLimit": options.parse_pids_limit(pids)}


def _apply(engine, name: str, limits: dict) -> None:
    try:
        cgroups.apply_group(cgroup_path(engine.paths, name), limits, _asked(engine, name))
    except OSError as error:
        if error.errno == errno.EBUSY:
            usage = cgroups.group_usage(cgroup_path(engine.paths, name))["Memory"]["Current"]
            raise Conflict(f"cannot limit group {name} to "
                           f"{cgroups.human_bytes(limits['Memory'])} of memory: its "
                           f"containers use {cgroups.human_bytes(usage)} now") from None
        raise Conflict(f"cannot apply the limits of group {name}: "
                       f"{error.strerror or error}") from None


# -- the Engine's verbs ------------------------------------------------------------------------

def set_limits(engine, name: str, memory=None, cpus=None, pids=None) -> dict:
    """Create the group or change its limits (None or 0: no limit), at once for the running
    containers inside; returns the definition. When the kernel refuses the new limits (a v1
    host cannot take memory back from processes that hold it), the old ones stay."""
    name = validate(name)
    limits = _limits(memory, cpus, pids)
    engine.paths.ensure()
    os.makedirs(directory(engine.paths), mode=0o700, exist_ok=True)
    with _lock(engine.paths):
        try:
            previous = definition(engine.paths, name)
        except NotFound:
            previous = None
        try:
            _apply(engine, name, limits)
        except Conflict:
            if previous is not None:
                with contextlib.suppress(Conflict):
                    _apply(engine, name, previous)
            else:
                cgroups.remove_group(cgroup_path(engine.paths, name))
            raise
        from runtime.container.state import rfc3339_ns
        now = rfc3339_ns()
        record = {"Name": name, "CreatedAt": previous["CreatedAt"] if previous else now,
                  "UpdatedAt": now, **limits}
        atomic.write_json(_file(engine.paths, name), record)
    return record


def remove(engine, name: str) -> None:
    """Remove the group and its cgroup; refused while any container, running or not, is in
    it (under the containers lock, so that no create puts one in meanwhile)."""
    name = validate(name)
    with locked(engine.paths.lock("containers")), _lock(engine.paths):
        definition(engine.paths, name)
        inside = members(engine, name)
        if inside:
            raise Conflict(f"group {name} has {len(inside)} container(s): remove them first "
                           f"({', '.join(c.name for c in inside[:3])}"
                           f"{', ...' if len(inside) > 3 else ''})")
        try:
            cgroups.remove_group(cgroup_path(engine.paths, name))
        except OSError as error:
            raise Conflict(f"cannot remove the cgroup of group {name}: "
                           f"{error.strerror or error}") from None
        os.unlink(_file(engine.paths, name))


def summary(engine, record: dict, inside: list) -> dict:
    return {"Name": record["Name"], "CreatedAt": record.get("CreatedAt", ""),
            "UpdatedAt": record.get("UpdatedAt", ""), "Memory": record.get("Memory", 0),
            "NanoCpus": record.get("NanoCpus", 0), "PidsLimit": record.get("PidsLimit", 0),
            "Cgroup": cgroup_path(engine.paths, record["Name"]),
            "Containers": sorted(c.id for c in inside)}


def listing(engine) -> list[dict]:
    """Every group's definition and containers (no usage: see `inspect`)."""
    from runtime.container import state
    everyone = state.all_containers(engine)
    result = []
    for name in names(engine.paths):
        try:
            record = definition(engine.paths, name)
        except NotFound:
            continue
        result.append(summary(engine, record, [c for c in everyone if
                                               c.host_config.get("CgroupParent") == name]))
    return result


def inspect(engine, name: str) -> dict:
    """The group's limits and what it uses now: the cgroup's own files (see
    `cgroups.group_usage`), its containers (`Total`, `Running`) and disk (`WritableLayers`
    of its containers, `Volumes`: those labelled `moorage.group=<name>` and its containers'
    anonymous ones, each volume once)."""
    record = definition(engine.paths, name)
    inside = members(engine, name)
    for container in inside:
        container.refresh()
    document = summary(engine, record, inside)
    usage = cgroups.group_usage(cgroup_path(engine.paths, name))
    usage["Containers"] = {"Total": len(inside), "Running": sum(
        1 for c in inside if c.status in ("running", "paused", "restarting"))}
    usage["Disk"] = _disk(engine, name, inside)
    document["Usage"] = usage
    return document


def _writable_layer_size(container) -> int:
    from runtime.volume import store
    try:
        fd = os.open(container.path("upper"), store.DIRECTORY_FLAGS)
    except OSError:
        return 0
    try:
        return store.tree_size(fd)
    finally:
        os.close(fd)


def _disk(engine, name: str, inside: list) -> dict:
    from runtime.volume import mountpoints, store
    volumes = store.Volumes(engine.paths)
    counted = {point["Name"] for c in inside for point in mountpoints.of(c)
               if point.get("Anonymous") and point.get("Name")}
    for volume in volumes.names():
        with contextlib.suppress(NotFound):
            if (volumes.get(volume).get("Labels") or {}).get(GROUP_LABEL) == name:
                counted.add(volume)
    layers = sum(_writable_layer_size(c) for c in inside)
    volume_bytes = sum(volumes.size(volume) for volume in sorted(counted)
                       if volumes.exists(volume))
    return {"WritableLayers": layers, "Volumes": volume_bytes, "Total": layers + volume_bytes}


# -- containers in groups ----------------------------------------------------------------------

def require(engine, host_config: dict) -> None:
    """At create, under the containers lock: the group a new container names must exist."""
    name = host_config.get("CgroupParent")
    if name:
        definition(engine.paths, name)


class Placement(NamedTuple):
    """Where a starting container's cgroup goes, and the limits of its group (None: none)."""
    parent: str
    limits: dict | None


@contextlib.contextmanager
def placement(engine, container):
    """For a container's start: its cgroup parent and its group's limits, the group's cgroup
    made from its definition if it is missing. The groups lock is held (shared) until the
    block ends, so that no `group_set` changes the limits between this reading and the
    runtime's creating the container's cgroup inside (a v1 kernel would refuse it)."""
    name = container.host_config.get("CgroupParent")
    if not name:
        yield Placement(engine.paths.cgroup_parent, None)
        return
    with _lock(engine.paths, shared=True):
        try:
            record = definition(engine.paths, name)
        except NotFound:
            raise Conflict(f"container {container.name} is in group {name}, which no longer "
                           "exists") from None
        relative = cgroup_path(engine.paths, name)
        if not cgroups.group_exists(relative):
            _apply(engine, name, record)
        try:
            yield Placement(relative, record)
        except MoorError as error:
            from runtime.container.lifecycle import StartFailed
            # The runtime could not start the container (not the program: 126, 127): a full
            # group refuses the runtime's own processes too, so say how full it is.
            if not isinstance(error, StartFailed) or error.status != 125:
                raise
            raise StartFailed(f"{error.message} ({_in_use(name, relative, record)})",
                              error.status) from None


def _in_use(name: str, relative: str, record: dict) -> str:
    """What a group with limits holds now: "group team-1 uses 12 of 12 PIDs, ..."."""
    usage = cgroups.group_usage(relative)
    parts = []
    if record.get("PidsLimit"):
        parts.append(f"{usage['Pids']['Current']} of {record['PidsLimit']} PIDs")
    if record.get("Memory"):
        parts.append(f"{cgroups.human_bytes(usage['Memory']['Current'])} of "
                     f"{cgroups.human_bytes(record['Memory'])} memory")
    return f"group {name} uses {', '.join(parts)}" if parts else f"in group {name}"


def restore(engine) -> list[str]:
    """After a reboot: every group's cgroup made again from its definition."""
    report = []
    with _lock(engine.paths):
        for name in names(engine.paths):
            relative = cgroup_path(engine.paths, name)
            if cgroups.group_exists(relative):
                continue
            try:
                _apply(engine, name, definition(engine.paths, name))
                report.append(f"group {name}: limits applied")
            except (NotFound, Conflict) as error:
                report.append(f"group {name}: {error.message}")
    return report


def sweep(engine, running: set[str], dry_run: bool = False) -> list[str]:
    """`system gc`'s part: in the root's cgroups, the directories of groups that are not
    defined (with nothing running inside), and in defined groups' the cgroups of containers
    that do not run."""
    found = []
    with _lock(engine.paths):
        defined = set(names(engine.paths))
        for hierarchy in cgroups.hierarchies():
            parent = os.path.join(hierarchy, engine.paths.cgroup_parent)
            try:
                entries = os.listdir(parent)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                path = os.path.join(parent, entry)
                if len(entry) == 64 or entry in RESERVED or not os.path.isdir(path):
                    continue
                try:
                    inside = [child for child in os.listdir(path)
                              if os.path.isdir(os.path.join(path, child))]
                except FileNotFoundError:
                    continue
                stale = [child for child in inside if child not in running]
                if entry not in defined and len(stale) == len(inside):
                    found.append(f"cgroup {path} (no such group)")
                    targets = [path]
                else:
                    targets = [os.path.join(path, child) for child in stale]
                    found.extend(f"cgroup {target}" for target in targets)
                if not dry_run:
                    for target in targets:
                        try:
                            cgroups.remove_tree(target)
                        except OSError as error:
                            found.append(f"  failed: {error}")
    return found
