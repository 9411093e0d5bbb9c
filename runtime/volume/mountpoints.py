"""A container's mount points through its life.

- create (`prepared`): the volumes it names are found or made (named ones on first use,
  anonymous ones always), and an empty volume gets a copy of what the image has at its
  destination (unless `nocopy`); the container's record carries the result as `MountPoints`.
- start (`oci_mounts`): binds of each volume's `_data` and of host paths, and tmpfs mounts.
- inspect (`inspect_mounts`): Docker's `Mounts`.
- removal (`remove_anonymous_volumes`): `rm -v` and `--rm` remove the container's anonymous
  volumes, never named ones, and none another container names.
- cp into a stopped container (`mounted`): its volumes and binds mounted where it sees them,
  so files land in the volume as they would while it runs.

`MountPoints` is a list of dicts, parents first (see `runtime.volume.specs`); finding the
containers that use a volume is a scan of them (`users`), so `ps --filter volume=` needs
nothing more.
"""

import contextlib
import os

from runtime import staging
from runtime.errors import InvalidArgument, MoorError
from runtime.volume import copyup, specs, store, tmpfs
from runtime.volume.specs import BIND, TMPFS, VOLUME


def of(container) -> list[dict]:
    """The container's mount points (for a container made before volumes were recorded, its
    binds)."""
    points = container.config.get("MountPoints")
    if points is not None:
        return points
    return specs.sort_by_depth([specs.parse_bind(text)
                                for text in container.host_config.get("Binds") or []])


def volume_names(container) -> list[str]:
    return [point["Name"] for point in of(container) if point["Type"] == VOLUME]


def users(engine) -> dict[str, list[str]]:
    """Volume name -> the IDs of the containers that name it (running or not)."""
    from runtime.container import state
    table: dict[str, list[str]] = {}
    for container in state.all_containers(engine):
        for name in volume_names(container):
            table.setdefault(name, []).append(container.id)
    return table


# -- create -----------------------------------------------------------------------------------

@contextlib.contextmanager
def prepared(engine, container_dir: str, layers: list[str], config: dict, host_config: dict):
    """During create, with the container's files in `container_dir` (not yet in sight): its
    mount points, volumes made or found and filled by copy-up. Holds the volumes lock until
    the block ends, so the container's record is in place before any `volume rm` looks; on
    failure the volumes made here are removed again."""
    points = specs.plan(config, host_config)
    if not any(point["Type"] == VOLUME for point in points):
        yield points
        return
    volumes = store.Volumes(engine.paths)
    made = []
    with store.lock(engine.paths):
        try:
            for point in points:
                if point["Type"] != VOLUME:
                    continue
                create = point.pop("Create", {})
                volume, new = volumes.create(point["Name"] or None, labels=create.get("Labels"),
                                             driver_opts=create.get("Options"),
                                             anonymous=point["Anonymous"], held=True)
                if new:
                    made.append(volume["Name"])
                    point["MadeForContainer"] = True  # see remove_volumes_made_for
                point["Name"], point["Source"] = volume["Name"], volume["Mountpoint"]
            _copy_up(engine, volumes, container_dir, layers, points)
            yield points
        except BaseException:
            for name in made:
                with contextlib.suppress(OSError, MoorError):
                    volumes.remove(name, held=True)
            raise


def _copy_up(engine, volumes, container_dir: str, layers: list[str], points: list[dict]):
    """Fill each empty volume that copies (Docker's default) from the image's files at its
    destination, seen through the new container's own root."""
    candidates = [point for point in points if point["Type"] == VOLUME and point["CopyData"]]
    if not any(volumes.is_empty(point["Name"]) for point in candidates):
        return
    from runtime.container import rootfs
    from runtime.container.rootpath import Root
    links = [engine.store.layer_link(chain) for chain in layers]
    hold = staging.hold(container_dir)  # its overlay mount is at work: gc keeps off
    try:
        with rootfs.mounted(engine.paths.root, container_dir, links) as merged, \
                Root(merged) as root:
            for point in candidates:
                if volumes.is_empty(point["Name"]):
                    _copy_into(root, volumes, point)
    finally:
        os.close(hold)


def _copy_into(root, volumes, point: dict) -> None:
    destination = point["Destination"]
    try:
        source = root.open(destination, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return  # nothing there in the image
    except NotADirectoryError:
        raise InvalidArgument(f"cannot mount volume over existing file, file exists "
                              f"{destination}") from None
    try:
        target = volumes.open_data(point["Name"])
        try:
            copyup.copy_up(source, target)
        finally:
            os.close(target)
    except OSError as error:
        raise MoorError(f"copying the image's {destination} into volume {point['Name']} "
                        f"failed: {error.strerror or error}") from None
    finally:
        os.close(source)


# -- start ------------------------------------------------------------------------------------

def oci_mounts(container) -> list[dict]:
    """The OCI mounts of the container's mount points and `--tmpfs` mounts, parents first."""
    mounts = []
    for point in of(container):
        destination = point["Destination"]
        if point["Type"] == TMPFS:
            mounts.append(_tmpfs(destination, point.get("TmpfsOptions") or ""))
            continue
        options = ["bind" if point.get("NonRecursive") else "rbind",
                   point.get("Propagation") or specs.DEFAULT_PROPAGATION]
        if not point.get("RW", True):
            options.append("ro")
        mounts.append({"destination": destination, "type": "bind", "source": point["Source"],
                       "options": options})
    for destination, data in tmpfs.parse(container.host_config.get("Tmpfs")).items():
        mounts.append(_tmpfs(destination, data))
    return sorted(mounts, key=lambda mount: mount["destination"].count("/"))


def _tmpfs(destination: str, data: str) -> dict:
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs",
            "options": tmpfs.mount_options(data)}


def make_bind_sources(container) -> None:
    """A `-v /host:/ctr` whose host path does not exist gets it as a new directory, as
    Docker's `-v` does (not left for the OCI runtime to fail on); `--mount type=bind` only
    with `BindOptions.CreateMountpoint`."""
    for point in of(container):
        if point["Type"] != BIND or not point.get("CreateSource"):
            continue
        source = point["Source"]
        if not os.path.lexists(source):
            try:
                os.makedirs(source, mode=0o755, exist_ok=True)
            except OSError as error:
                raise InvalidArgument(f"cannot create the host directory {source} for "
                                      f"{point['Destination']}: {error.strerror}") from None


def check_propagation(container) -> str | None:
    """The root file system's propagation the container's binds need (`shared` or
    `rslave`), or None; a shared or slave bind whose host mount cannot carry it is refused,
    as Docker's ensureShared and ensureSharedOrSlave do."""
    needed = None
    for point in of(container):
        propagation = point.get("Propagation") or ""
        if point["Type"] == TMPFS or propagation in ("", "private", "rprivate"):
            continue
        mount_point, optional = _host_mount_of(point["Source"])
        shared = any(field.startswith("shared:") for field in optional)
        slave = any(field.startswith("master:") for field in optional)
        if propagation in ("shared", "rshared"):
            if not shared:
                raise InvalidArgument(f"path {point['Source']} is mounted on {mount_point} "
                                      "but it is not a shared mount")
            needed = "shared"
        elif not (shared or slave):
            raise InvalidArgument(f"path {point['Source']} is mounted on {mount_point} but "
                                  "it is not a shared or slave mount")
        elif needed is None:
            needed = "rslave"
    return needed


def _host_mount_of(path: str) -> tuple[str, list[str]]:
    """(mount point, optional fields) of the host mount that holds `path`."""
    real = os.path.realpath(path)
    best, fields = "/", []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            target = parts[4].replace("\\040", " ")
            if (real == target or real.startswith(target.rstrip("/") + "/")) and \
                    len(target) >= len(best):
                best, fields = target, parts[6:parts.index("-")]
    return best, fields


# -- inspect ----------------------------------------------------------------------------------

def inspect_mounts(container) -> list[dict]:
    """Docker's `Mounts`: Type, Name (volumes), Source, Destination, Driver (volumes), Mode,
    RW, Propagation. `--tmpfs` mounts are in `HostConfig.Tmpfs` only, as Docker shows them."""
    shown = []
    for point in of(container):
        entry = {"Type": point["Type"]}
        if point["Type"] == VOLUME:
            entry["Name"] = point["Name"]
        entry["Source"] = point.get("Source", "")
        entry["Destination"] = point["Destination"]
        if point["Type"] == VOLUME:
            entry["Driver"] = point.get("Driver") or specs.LOCAL_DRIVER
        entry.update({"Mode": point.get("Mode", ""), "RW": point.get("RW", True),
                      "Propagation": point.get("Propagation", "")})
        shown.append(entry)
    return sorted(shown, key=lambda entry: entry["Destination"])


def journal(engine, container, action: str) -> None:
    """Docker's `mount` (at a start) or `unmount` (once the program ended) event of each
    volume the container has."""
    from runtime import events
    for point in of(container):
        if point["Type"] == VOLUME and point.get("Name"):
            events.volume(engine, action, point["Name"], container_id=container.id,
                          destination=point["Destination"],
                          read_write=point.get("RW", True) if action == "mount" else None,
                          propagation=point.get("Propagation", ""))


# -- removal ----------------------------------------------------------------------------------

def remove_anonymous_volumes(engine, container) -> list[str]:
    """After `container` is out of sight: remove its anonymous volumes that no other
    container names (Docker's `rm -v` and `--rm`); returns their names."""
    return _remove_unused(engine, [point["Name"] for point in of(container)
                                   if point["Type"] == VOLUME and point.get("Anonymous")])


def remove_volumes_made_for(engine, container) -> list[str]:
    """After a `run` whose start failed removed its container: the volumes its create made,
    named ones too, unless another container names them meanwhile (a failed run leaves
    nothing behind)."""
    return _remove_unused(engine, [point["Name"] for point in of(container)
                                   if point["Type"] == VOLUME and
                                   point.get("MadeForContainer")])


def _remove_unused(engine, candidates: list[str]) -> list[str]:
    candidates = [name for name in candidates if name]
    if not candidates:
        return []
    volumes = store.Volumes(engine.paths)
    doomed = []
    with store.lock(engine.paths):
        in_use = users(engine)
        for name in candidates:
            if name not in in_use and volumes.exists(name):
                doomed.append(volumes.detach(name))
    for volume in doomed:
        volume.delete()
    return [volume.volume for volume in doomed]


# -- cp into a stopped container ---------------------------------------------------------------

@contextlib.contextmanager
def mounted(container, merged: str):
    """The container's volumes and binds mounted at their destinations inside its root file
    system `merged` (a stopped container's, mounted for `cp`), read-only where the container
    has them so; unmounted when the block ends. Each destination is resolved inside the root
    and mounted through its descriptor, so no symlink in the container redirects a mount."""
    from runtime.container import rootfs
    from runtime.container.rootpath import Root
    done = []
    try:
        with Root(merged) as root:
            for point in of(container):
                if point["Type"] == TMPFS or not os.path.isdir(point.get("Source") or ""):
                    continue
                try:
                    root.makedirs(point["Destination"])
                    fd = root.open(point["Destination"], os.O_PATH | os.O_DIRECTORY)
                except OSError as error:
                    raise MoorError(f"cannot mount {point['Source']} at "
                                    f"{point['Destination']} in the container: "
                                    f"{error.strerror}") from None
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                    rootfs.bind_mount(point["Source"], f"/proc/self/fd/{fd}",
                                      read_only=not point.get("RW", True))
                finally:
                    os.close(fd)
                done.append(target)
        yield
    finally:
        for target in reversed(done):
            rootfs.unmount(target)
