"""`--device HOST[:CONTAINER][:PERMISSIONS]` (Docker's `HostConfig.Devices`): a device of
the host made in the container's /dev, with a device-cgroup rule that lets the container use
it as PERMISSIONS say (`r` read, `w` write, `m` mknod; `rwm` unless given).

A host path that is a directory gives every device under it, at the same relative places
under CONTAINER. The device is checked at create (a clear error for a path that is missing or
no device) and read again at each start, as its numbers may have changed since.

Handing a container a host device hands it part of the host: the console lets only
superusers do it.
"""

import os
import stat

from runtime.errors import InvalidArgument

FIELDS = ("PathOnHost", "PathInContainer", "CgroupPermissions")


def valid_permissions(mode: str) -> bool:
    """`r`, `w` and `m`, each at most once (Docker's validDeviceMode)."""
    return bool(mode) and all(c in "rwm" for c in mode) and len(set(mode)) == len(mode)


def parse_one(item) -> dict:
    """`/dev/fuse`, `/dev/sda:/dev/xvda:r` (or Docker's API object) -> Docker's
    DeviceMapping."""
    if isinstance(item, dict):
        mapping = {key: item.get(key) or "" for key in FIELDS}
        mapping["PathInContainer"] = mapping["PathInContainer"] or mapping["PathOnHost"]
        mapping["CgroupPermissions"] = mapping["CgroupPermissions"] or "rwm"
        shown = f"{mapping['PathOnHost']}:{mapping['PathInContainer']}"
    elif isinstance(item, str):
        shown = item
        parts = item.split(":")
        if len(parts) > 3 or not parts[0]:
            raise InvalidArgument(f"invalid device specification: {item}")
        source, target, permissions = parts[0], "", "rwm"
        if len(parts) == 3:
            target, permissions = parts[1], parts[2]
        elif len(parts) == 2:
            if valid_permissions(parts[1]):
                permissions = parts[1]
            else:
                target = parts[1]
        mapping = {"PathOnHost": source, "PathInContainer": target or source,
                   "CgroupPermissions": permissions}
    else:
        raise InvalidArgument(f"invalid device specification: {item!r}")
    if not valid_permissions(mapping["CgroupPermissions"]):
        raise InvalidArgument(f"invalid device specification: {shown}: permissions are "
                              "r, w and m (like rwm)")
    for key in ("PathOnHost", "PathInContainer"):
        if not os.path.isabs(mapping[key]):
            raise InvalidArgument(f"invalid device specification: {shown}: "
                                  f"{mapping[key]} is not an absolute path")
    nodes(mapping)
    return mapping


def parse(value) -> list[dict]:
    """`devices` -> HostConfig.Devices (an empty list when none, as Docker shows it)."""
    if not value:
        return []
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        raise InvalidArgument(f"invalid devices: {value!r} (a list)")
    return [parse_one(item) for item in value]


def nodes(mapping: dict) -> list[tuple[str, os.stat_result]]:
    """(path in the container, the host node's stat) of each device a mapping gives."""
    source, target = mapping["PathOnHost"], mapping["PathInContainer"]
    problem = f"error gathering device information while adding custom device {source!r}"
    try:
        info = os.stat(source)
    except OSError as error:
        raise InvalidArgument(f"{problem}: {error.strerror.lower()}") from None
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return [(target, info)]
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidArgument(f"{problem}: not a device node")
    found = []
    for directory, _dirs, files in os.walk(source):
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                node = os.stat(path)
            except OSError:
                continue
            if stat.S_ISCHR(node.st_mode) or stat.S_ISBLK(node.st_mode):
                found.append((os.path.join(target, os.path.relpath(path, source)), node))
    if not found:
        raise InvalidArgument(f"{problem}: no device nodes under it")
    return found


def oci(host_config: dict) -> tuple[list[dict], list[dict]]:
    """(the OCI `linux.devices`, their `linux.resources.devices` rules) of a container."""
    devices, rules = [], []
    for mapping in host_config.get("Devices") or []:
        for path, info in nodes(mapping):
            kind = "c" if stat.S_ISCHR(info.st_mode) else "b"
            major, minor = os.major(info.st_rdev), os.minor(info.st_rdev)
            devices.append({"path": path, "type": kind, "major": major, "minor": minor,
                            "fileMode": stat.S_IMODE(info.st_mode), "uid": info.st_uid,
                            "gid": info.st_gid})
            rules.append({"allow": True, "type": kind, "major": major, "minor": minor,
                          "access": mapping["CgroupPermissions"]})
    return devices, rules
