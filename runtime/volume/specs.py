"""How a container's mounts are asked for, parsed and checked before anything is made.

Four sources, as in Docker (moby's volume/mounts/linux_parser.go and the CLI's opts/mount.go):

- `HostConfig.Binds`, the `-v` strings: `/host:/ctr[:opts]` is a bind mount, `name:/ctr[:opts]`
  a named volume (made on first use), `/ctr` alone an anonymous volume. `opts` is a comma
  list of at most one each of `ro|rw`, `z|Z` (SELinux labels: accepted, nothing to do here),
  a propagation (`[r]private|[r]shared|[r]slave`, binds only), `nocopy` (volumes only) and a
  consistency (`consistent|cached|delegated`, accepted and ignored, as on Linux).
- `HostConfig.Mounts`, Docker's API objects (`Type`, `Source`, `Target`, `ReadOnly`,
  `BindOptions`, `VolumeOptions`, `TmpfsOptions`); `--mount` text becomes one with
  `parse_mount_flag`.
- `HostConfig.Tmpfs`, `{"/path": "size=64m,mode=1777"}` (`--tmpfs /path[:opts]`; see
  `runtime.volume.tmpfs`).
- `Config.Volumes`, the image's `VOLUME` paths and `-v /ctr`: an anonymous volume each,
  unless another mount already has that destination.

The result is the container's mount points (`plan`): dicts with Docker's `Mounts` fields
(`Type`, `Name`, `Source`, `Destination`, `Driver`, `Mode`, `RW`, `Propagation`) and the
engine's own (`CopyData`, `Anonymous`, `CreateSource`, `NonRecursive`, `TmpfsOptions`,
`Create`), parents before children. Volumes get their `Name` (anonymous ones) and `Source` when
the container is made (`runtime.volume.mountpoints`).
"""

import csv
import os

from runtime.errors import InvalidArgument
from runtime.volume import names, tmpfs
from runtime.volume.destinations import check_destination, clean_path, printable

VOLUME, BIND, TMPFS = "volume", "bind", "tmpfs"
LOCAL_DRIVER = "local"
PROPAGATIONS, DEFAULT_PROPAGATION = tmpfs.PROPAGATIONS, tmpfs.DEFAULT_PROPAGATION
CONSISTENCIES = ("consistent", "cached", "delegated", "default")


# -- -v ---------------------------------------------------------------------------------------

def _mode_words(mode: str) -> list[str] | None:
    """The words of a `-v` mode, or None when it is not a valid mode (moby's
    linuxValidMountMode: known words, at most one of each kind)."""
    if mode == "":
        return []
    counts = {"rw": 0, "label": 0, "propagation": 0, "copy": 0, "consistency": 0}
    words = mode.split(",")
    for word in words:
        if word in ("rw", "ro"):
            counts["rw"] += 1
        elif word in ("z", "Z"):
            counts["label"] += 1
        elif word in PROPAGATIONS:
            counts["propagation"] += 1
        elif word == "nocopy":
            counts["copy"] += 1
        elif word in CONSISTENCIES:
            counts["consistency"] += 1
        else:
            return None
    return words if all(count <= 1 for count in counts.values()) else None


def parse_bind(text) -> dict:
    """One `-v` string -> a mount point (see the module's docstring)."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid volume specification: {text!r}")
    invalid = f"invalid volume specification: '{printable(text)}'"
    parts = text.split(":", 3)
    if not parts[0]:
        raise InvalidArgument(invalid)
    if len(parts) == 1:
        source, target, mode = "", parts[0], ""
    elif len(parts) == 2:
        if _mode_words(parts[1]) is not None:
            raise InvalidArgument(invalid)  # `/ctr:ro`: a mode needs a source
        source, target, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise InvalidArgument(invalid)
    words = _mode_words(mode)
    if words is None:
        raise InvalidArgument(f"invalid mode: {printable(mode)}")
    problem = check_destination(target)
    if problem:
        raise InvalidArgument(f"{invalid}: {problem}")
    read_only = "ro" in words
    propagation = next((word for word in words if word in PROPAGATIONS), "")
    destination = clean_path(target)
    if source.startswith("/"):
        if "nocopy" in words:
            raise InvalidArgument(f'{invalid}: invalid mount config for type "bind": field '
                                  'VolumeOptions must not be specified')
        return {"Type": BIND, "Source": clean_path(source), "Destination": destination,
                "Mode": mode, "RW": not read_only,
                "Propagation": propagation or DEFAULT_PROPAGATION, "CreateSource": True}
    if propagation:
        raise InvalidArgument(f'{invalid}: invalid mount config for type "volume": field '
                              'BindOptions must not be specified')
    if not source and read_only:
        raise InvalidArgument(f'{invalid}: invalid mount config for type "volume": must not '
                              'set ReadOnly mode when using anonymous volumes')
    if source:
        names.validate(source)
    # moby's setBindModeIfNull: a local volume without a mode shows "z".
    return _volume_point(source, destination, mode or "z", not read_only,
                         copy_data="nocopy" not in words)


def _volume_point(name: str, destination: str, mode: str, rw: bool, copy_data: bool,
                  labels: dict | None = None, driver_options: dict | None = None) -> dict:
    point = {"Type": VOLUME, "Name": name, "Source": "", "Destination": destination,
             "Driver": LOCAL_DRIVER, "Mode": mode, "RW": rw, "Propagation": "",
             "CopyData": copy_data, "Anonymous": not name}
    if labels or driver_options:
        # What a volume made on first use gets (ignored when it exists already, as Docker).
        point["Create"] = {"Labels": dict(labels or {}), "Options": dict(driver_options or {})}
    return point


# -- --mount ----------------------------------------------------------------------------------

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _parse_bool(key: str, value: str) -> bool:
    """Go's strconv.ParseBool, as the CLI uses it."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidArgument(f"invalid value for {key}: {printable(value)}")


def parse_mount_flag(text: str) -> dict:
    """`--mount type=volume,src=data,dst=/data,readonly` -> Docker's API `Mount` object, with
    the CLI's errors (opts/mount.go)."""
    from runtime.container.options import parse_size
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise InvalidArgument(f"invalid mount specification: {text!r}") from None
    mount = {"Type": VOLUME}

    def options_of(kind: str) -> dict:
        return mount.setdefault(kind, {})

    for field in fields:
        key, sep, value = field.partition("=")
        key = key.lower()
        if not sep:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
            elif key == "volume-nocopy":
                options_of("VolumeOptions")["NoCopy"] = True
            elif key == "bind-nonrecursive":
                options_of("BindOptions")["NonRecursive"] = True
            else:
                raise InvalidArgument(f"invalid field '{printable(field)}' must be a "
                                      "key=value pair")
            continue
        if key == "type":
            mount["Type"] = value.lower()
        elif key in ("source", "src"):
            mount["Source"] = os.path.abspath(value) if value == "." or value.startswith(
                "./") else value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _parse_bool(key, value)
        elif key == "consistency":
            mount["Consistency"] = value.lower()
        elif key == "bind-propagation":
            options_of("BindOptions")["Propagation"] = value.lower()
        elif key == "bind-nonrecursive":
            options_of("BindOptions")["NonRecursive"] = _parse_bool(key, value)
        elif key == "volume-nocopy":
            options_of("VolumeOptions")["NoCopy"] = _parse_bool(key, value)
        elif key == "volume-label":
            label, _, label_value = value.partition("=")
            if label:
                options_of("VolumeOptions").setdefault("Labels", {})[label] = label_value
        elif key == "volume-driver":
            options_of("VolumeOptions").setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            option, _, option_value = value.partition("=")
            if option:
                driver = options_of("VolumeOptions").setdefault("DriverConfig", {})
                driver.setdefault("Options", {})[option] = option_value
        elif key == "tmpfs-size":
            try:
                options_of("TmpfsOptions")["SizeBytes"] = parse_size(value, "tmpfs")
            except InvalidArgument:
                raise InvalidArgument(f"invalid value for {key}: {printable(value)}") from None
        elif key == "tmpfs-mode":
            try:
                options_of("TmpfsOptions")["Mode"] = int(value, 8)
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {printable(value)}") from None
        else:
            raise InvalidArgument(f"unexpected key '{printable(key)}' in "
                                  f"'{printable(field)}'")
    if not mount.get("Type"):
        raise InvalidArgument("type is required")
    if not mount.get("Target"):
        raise InvalidArgument("target is required")
    for kind, prefix in (("VolumeOptions", "volume"), ("BindOptions", "bind"),
                         ("TmpfsOptions", "tmpfs")):
        if kind in mount and mount["Type"] != prefix:
            raise InvalidArgument(f"cannot mix '{prefix}-*' options with mount type "
                                  f"'{mount['Type']}'")
    return mount


# The parts of Docker's API `Mount` this engine understands; anything else is refused by name
# rather than silently dropped.
MOUNT_KEYS = {"Type", "Source", "Target", "ReadOnly", "Consistency", "BindOptions",
              "VolumeOptions", "TmpfsOptions"}
BIND_OPTION_KEYS = {"Propagation", "NonRecursive", "CreateMountpoint"}
VOLUME_OPTION_KEYS = {"NoCopy", "Labels", "DriverConfig", "Subpath"}
TMPFS_OPTION_KEYS = {"SizeBytes", "Mode"}


def _present(document: dict) -> dict:
    """The keys of an API object that are set (Docker's clients send nulls for unset ones)."""
    return {key: value for key, value in document.items() if value is not None}


def normalize_mount(value) -> dict:
    """An API `Mount` object (or `--mount` text), checked as a whole: its keys, then moby's
    validateMountConfig rules. Returns the object without its unset keys."""
    if isinstance(value, str):
        value = parse_mount_flag(value)
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid mount: {value!r} (expected an object with Type, "
                              "Source and Target)")
    mount = _present(value)
    for key, allowed in ((None, MOUNT_KEYS), ("BindOptions", BIND_OPTION_KEYS),
                         ("VolumeOptions", VOLUME_OPTION_KEYS),
                         ("TmpfsOptions", TMPFS_OPTION_KEYS)):
        document = mount if key is None else mount.get(key)
        if document is None:
            continue
        if not isinstance(document, dict):
            raise InvalidArgument(f"invalid mount: {key} must be an object")
        if key is not None:
            mount[key] = document = _present(document)
        unknown = sorted(set(document) - allowed)
        if unknown:
            where = f" in {key}" if key else ""
            raise InvalidArgument(f"unknown mount field{where}: {unknown[0]}")
    mount_point(mount)  # every rule below
    return mount


def mount_point(mount: dict) -> dict:
    """A checked API `Mount` object -> a mount point (moby's parseMountSpec)."""
    kind = mount.get("Type") or ""
    target = mount.get("Target") or ""
    source = mount.get("Source") or ""

    def fail(reason: str):
        raise InvalidArgument(f'invalid mount config for type "{kind}": {reason}')

    if not isinstance(target, str) or not target:
        fail("field Target must not be empty")
    problem = check_destination(target)
    if problem:
        fail(problem)
    if not isinstance(source, str):
        fail("field Source must be a string")
    read_only = bool(mount.get("ReadOnly"))
    destination = clean_path(target)
    bind_options = mount.get("BindOptions")
    volume_options = mount.get("VolumeOptions")
    tmpfs_options = mount.get("TmpfsOptions")
    if kind == BIND:
        if not source:
            fail("field Source must not be empty")
        if volume_options is not None:
            fail("field VolumeOptions must not be specified")
        if tmpfs_options is not None:
            fail("field TmpfsOptions must not be specified")
        propagation = (bind_options or {}).get("Propagation") or DEFAULT_PROPAGATION
        if propagation not in PROPAGATIONS:
            fail(f"invalid propagation mode: {propagation}")
        if not source.startswith("/"):
            fail(f"invalid mount path: '{printable(source)}' mount path must be absolute")
        create = bool((bind_options or {}).get("CreateMountpoint"))
        if not create and not os.path.lexists(source):
            fail(f"bind source path does not exist: {printable(source)}")
        point = {"Type": BIND, "Source": clean_path(source), "Destination": destination,
                 "Mode": "", "RW": not read_only, "Propagation": propagation,
                 "CreateSource": create}
        if (bind_options or {}).get("NonRecursive"):
            point["NonRecursive"] = True
        return point
    if kind == VOLUME:
        if bind_options is not None:
            fail("field BindOptions must not be specified")
        if tmpfs_options is not None:
            fail("field TmpfsOptions must not be specified")
        if not source and read_only:
            fail("must not set ReadOnly mode when using anonymous volumes")
        if source:
            names.validate(source)
        options = volume_options or {}
        if options.get("Subpath"):
            fail("volume subpaths are not supported")
        driver = options.get("DriverConfig") or {}
        if not isinstance(driver, dict):
            fail("VolumeOptions.DriverConfig must be an object")
        check_driver(driver.get("Name"))
        labels = options.get("Labels") or {}
        if not isinstance(labels, dict):
            fail("VolumeOptions.Labels must be an object")
        return _volume_point(source, destination, "z", not read_only,
                             copy_data=not options.get("NoCopy"), labels=labels,
                             driver_options=driver.get("Options") or {})
    if kind == TMPFS:
        if bind_options is not None:
            fail("field BindOptions must not be specified")
        if volume_options is not None:
            fail("field VolumeOptions must not be specified")
        if source:
            fail("field Source must not be specified")
        data = tmpfs.data_of(tmpfs_options or {}, read_only, fail)
        return {"Type": TMPFS, "Source": "", "Destination": destination, "Mode": "",
                "RW": not read_only, "Propagation": "", "TmpfsOptions": data}
    fail("mount type unknown")


def check_driver(name) -> None:
    if name not in (None, "", LOCAL_DRIVER):
        raise InvalidArgument(f'error looking up volume plugin {name}: plugin "{name}" not '
                              "found (this engine has the local driver only)")


# -- Config.Volumes ---------------------------------------------------------------------------

def volume_paths(value) -> dict:
    """Anonymous volume paths (`-v /ctr`, the API's `Config.Volumes`) -> {path: {}}."""
    if not value:
        return {}
    paths = list(value) if isinstance(value, (list, tuple, dict)) else None
    if paths is None or not all(isinstance(path, str) for path in paths):
        raise InvalidArgument(f"invalid volumes: {value!r} (a list of container paths)")
    for path in paths:
        problem = check_destination(path)
        if problem:
            raise InvalidArgument(f"invalid volume {path!r}: {problem}")
    return {path: {} for path in paths}


# -- all of them ------------------------------------------------------------------------------

def plan(config: dict, host_config: dict) -> list[dict]:
    """The container's mount points, parents first; a destination named twice is refused."""
    points: dict[str, dict] = {}
    tmpfs_table = tmpfs.parse(host_config.get("Tmpfs"))
    for text in host_config.get("Binds") or []:
        _add(points, parse_bind(text), tmpfs_table)
    for mount in host_config.get("Mounts") or []:
        _add(points, mount_point(normalize_mount(mount)), tmpfs_table)
    for path in config.get("Volumes") or {}:
        problem = check_destination(path)
        if problem:
            raise InvalidArgument(f"invalid volume {path!r} in the image: {problem}")
        destination = clean_path(path)
        if destination not in points and destination not in tmpfs_table:
            points[destination] = _volume_point("", destination, "", True, copy_data=True)
    return sort_by_depth(list(points.values()))


def _add(points: dict, point: dict, tmpfs: dict) -> None:
    destination = point["Destination"]
    if destination in points or destination in tmpfs:
        raise InvalidArgument(f"Duplicate mount point: {destination}")
    points[destination] = point


def sort_by_depth(points: list[dict]) -> list[dict]:
    """Parents before what is mounted inside them (moby's sortMounts: by the number of path
    components, stable)."""
    return sorted(points, key=lambda point: point["Destination"].count("/"))
