"""A container's record on disk and the one table of its status transitions.

`<root>/containers/<id>/container.json` holds what was asked at create (Docker's `Config` and
`HostConfig` shapes plus the engine's own fields); `state.json` holds what happened (Docker's
`State`). conmon writes `exit` (and `oom`) next to them when the program ends, so the truth
about a running container is state.json corrected by those files — see `refresh()`.
"""

import contextlib
import os
import time

from runtime import atomic
from runtime.errors import Conflict, NotFound

CREATED, RUNNING, PAUSED, RESTARTING, EXITED, DEAD, REMOVING = (
    "created", "running", "paused", "restarting", "exited", "dead", "removing")

# status -> the statuses it may move to.
TRANSITIONS = {
    CREATED: {RUNNING, EXITED, REMOVING, DEAD},
    RUNNING: {PAUSED, EXITED, RESTARTING, DEAD},
    PAUSED: {RUNNING, EXITED, DEAD},
    RESTARTING: {RUNNING, EXITED, DEAD, REMOVING},
    EXITED: {RUNNING, RESTARTING, REMOVING, DEAD},
    DEAD: {REMOVING, EXITED, RUNNING},
    REMOVING: set(),
}

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


_boot_id = None


def boot_id() -> str:
    """This boot's ID (it cannot change while a process runs: read once)."""
    global _boot_id
    if _boot_id is None:
        _boot_id = _read_boot_id()
    return _boot_id


def _read_boot_id() -> str:
    try:
        with open(BOOT_ID_PATH) as f:
            return f.read().strip()
    except OSError:
        return ""


def rfc3339_ns(ns: int | None = None) -> str:
    """RFC 3339 with nanoseconds in UTC, as Docker prints times."""
    if ns is None:
        ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


ZERO_TIME = "0001-01-01T00:00:00Z"


class Container:
    """One container's files. Load with `Container.load(dir)`; change state only through
    `transition()` and `save_state()`, holding the container's lock."""

    def __init__(self, directory: str, config: dict, state: dict):
        self.dir = directory
        self.config = config
        self.state = state

    # -- files -------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str) -> "Container | None":
        config = atomic.read_json(os.path.join(directory, "container.json"))
        if config is None:
            return None
        state = atomic.read_json(os.path.join(directory, "state.json")) or new_state()
        return cls(directory, config, state)

    def save_config(self) -> None:
        atomic.write_json(os.path.join(self.dir, "container.json"), self.config)

    def save_state(self) -> None:
        atomic.write_json(os.path.join(self.dir, "state.json"), self.state)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def lock_path(self) -> str:
        return self.path("lock")

    # -- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.config["Id"]

    @property
    def name(self) -> str:
        return self.config["Name"]

    @property
    def status(self) -> str:
        return self.state["Status"]

    @property
    def host_config(self) -> dict:
        return self.config["HostConfig"]

    @property
    def tty(self) -> bool:
        return bool(self.config["Config"].get("Tty"))

    # -- state -------------------------------------------------------------------------------

    def transition(self, status: str) -> None:
        current = self.state["Status"]
        if status != current and status not in TRANSITIONS[current]:
            raise Conflict(f"container {self.name} cannot go from {current} to {status}")
        self.state["Status"] = status

    def freeze_abandoned(self) -> bool:
        """Paused on behalf of a process (a commit) that is gone: nobody will thaw it."""
        holder = self.state.get("PausedBy")
        return self.state["Status"] == PAUSED and bool(holder) and not process_alive(
            holder.get("Pid"), holder.get("StartTime"))

    def exit_file(self) -> tuple[int, int] | None:
        """(exit code, time it was written in ns) when conmon recorded the program's end."""
        path = self.path("exit")
        if not os.path.exists(path):  # the common case (`ps`): a stat, not a failed open
            return None
        try:
            with open(path) as f:
                text = f.read().strip()
                mtime = os.fstat(f.fileno()).st_mtime_ns
        except FileNotFoundError:
            return None
        try:
            code = int(text)
        except ValueError:
            code = -1
        # conmon writes -1 when it killed the container on its own timeout.
        return (137 if code < 0 else code), mtime

    def refresh(self) -> bool:
        """Fold conmon's exit file (and a reboot) into the state in memory. Returns True when
        the program has ended since the state was last saved (the caller then cleans up)."""
        if self.state["Status"] == RESTARTING:
            self._refresh_back_off()
            return False
        if self.state["Status"] not in (RUNNING, PAUSED):
            return False
        ended = self.exit_file()
        if ended is None:
            rebooted = self.state.get("BootId") and self.state["BootId"] != boot_id()
            monitor_gone = not rebooted and not process_alive(
                self.state.get("MonitorPid"), self.state.get("MonitorStartTime"))
            if not rebooted and not monitor_gone:
                return False
            # The monitor vanished without recording an exit (a reboot, or conmon killed):
            # the exit code is unknowable.
            if monitor_gone and process_alive(self.state.get("Pid"),
                                              self.state.get("PidStartTime")):
                return False  # unmonitored but running; `stop`/`kill` still work
            ended = (-1, time.time_ns())
        self._record_end(*ended)
        return True

    def end_unrecorded(self) -> None:
        """The program has ended, but its monitor could not record how (it could not write
        its exit file on a full disk): the exit code is unknowable, as when it vanished."""
        if self.state["Status"] in (RUNNING, PAUSED, RESTARTING):
            self._record_end(-1, time.time_ns())

    def _record_end(self, code: int, when: int) -> None:
        self.state["Status"] = EXITED if code >= 0 else DEAD
        self.state["ExitCode"] = code if code >= 0 else 255
        self.state["FinishedAt"] = rfc3339_ns(when)
        if os.path.exists(self.path("oom")):
            from runtime.container.cgroups import oom_kill_counted
            self.state["OOMKilled"] = oom_kill_counted(self)
        else:
            self.state["OOMKilled"] = False
        self.state["Pid"] = 0
        self.state["Paused"] = False
        self.state["PausedBy"] = None

    def program_alive(self) -> bool:
        """The container's first process still runs (whatever the records say)."""
        return process_alive(self.state.get("Pid"), self.state.get("PidStartTime"))

    def _refresh_back_off(self) -> None:
        """A restarting container waits out its restart delay: its last run has ended and
        was recorded (the exit file is that run's), and the process that will start it again
        is the one `RestartWaiterPid` names. Once that process is gone (a reboot, a kill)
        nobody will: the container is exited."""
        if not process_alive(self.state.get("RestartWaiterPid"),
                             self.state.get("RestartWaiterStartTime")):
            self.state["Status"] = EXITED


def new_state() -> dict:
    return {
        "Status": CREATED, "Pid": 0, "MonitorPid": 0, "ExitCode": 0, "Error": "",
        "OOMKilled": False, "Paused": False, "PausedBy": None, "StartedAt": ZERO_TIME,
        "FinishedAt": ZERO_TIME,
        "RestartCount": 0, "ManualStop": False, "BootId": "", "CleanedUp": True,
    }


def _stat_fields(pid) -> list[bytes] | None:
    """/proc/<pid>/stat from its third field (the state) on; None when there is no such
    process. The command name may contain spaces and parentheses: split after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].split()


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: tells a process apart from a later one with its PID."""
    fields = _stat_fields(pid)
    with contextlib.suppress(IndexError, ValueError, TypeError):
        return int(fields[19])
    return None


def process_session(pid) -> int | None:
    """The session ID (field 6) of a process."""
    fields = _stat_fields(pid)
    with contextlib.suppress(IndexError, ValueError, TypeError):
        return int(fields[3])
    return None


def process_alive(pid: int | None, start_time: int | None) -> bool:
    """The process runs and is the one that started at `start_time` (when given); a zombie
    has ended: it only waits for its parent."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20 or fields[0] == b"Z":
        return False
    return not start_time or int(fields[19]) == start_time


# -- finding containers -----------------------------------------------------------------

def all_containers(engine) -> list[Container]:
    result = []
    try:
        entries = os.listdir(engine.paths.containers)
    except FileNotFoundError:
        return result
    for entry in entries:
        if len(entry) == 64:
            container = Container.load(os.path.join(engine.paths.containers, entry))
            if container is not None:
                result.append(container)
    return result


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


# Names are looked up through links <root>/names/<name> -> <container id>, made under the
# containers lock when a container is created or renamed, so that naming one container does
# not mean reading every container's files. The links are an index: each hit is checked
# against the container's own record, and a root without a complete index (NAMES_COMPLETE)
# is scanned and re-indexed.
NAMES_COMPLETE = ".complete"


def names_dir(engine) -> str:
    return os.path.join(engine.paths.root, "names")


def index_name(engine, name: str, container_id: str) -> None:
    directory = names_dir(engine)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    link = os.path.join(directory, name)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(link)
    os.symlink(container_id, link)


def unindex_name(engine, name: str, container_id: str) -> None:
    link = os.path.join(names_dir(engine), name)
    with contextlib.suppress(OSError):
        if os.readlink(link) == container_id:
            os.unlink(link)


def rebuild_name_index(engine, everything: list["Container"]) -> None:
    """Make names/ match the containers that exist (call holding the containers lock, or
    accept that a concurrent create re-adds its own link)."""
    directory = names_dir(engine)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    wanted = {c.name: c.id for c in everything}
    for entry in os.listdir(directory):
        if entry != NAMES_COMPLETE and entry not in wanted:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))
    for name, container_id in wanted.items():
        try:
            if os.readlink(os.path.join(directory, name)) == container_id:
                continue
        except OSError:
            pass
        index_name(engine, name, container_id)
    with open(os.path.join(directory, NAMES_COMPLETE), "w"):
        pass


def name_owner(engine, name: str) -> "Container | None":
    """The container called `name`, if any (call holding the containers lock)."""
    if not os.path.exists(os.path.join(names_dir(engine), NAMES_COMPLETE)):
        rebuild_name_index(engine, all_containers(engine))
    try:
        target = os.readlink(os.path.join(names_dir(engine), name))
    except OSError:
        return None
    container = Container.load(engine.paths.container(target)) if _is_hex(target) else None
    return container if container is not None and container.name == name else None


def find(engine, ref: str) -> Container:
    """A container by full ID, name, or unique ID prefix (in that order, as Docker)."""
    if not ref:
        raise NotFound("No such container: (empty name)")
    ref = ref[1:] if ref.startswith("/") else ref
    if len(ref) == 64 and _is_hex(ref):
        container = Container.load(engine.paths.container(ref))
        if container is not None:
            return container
    directory = names_dir(engine)
    if os.path.exists(os.path.join(directory, NAMES_COMPLETE)):
        if "/" not in ref and ref not in (".", ".."):
            try:
                target = os.readlink(os.path.join(directory, ref))
            except OSError:
                target = None
            if target and len(target) == 64 and _is_hex(target):
                container = Container.load(engine.paths.container(target))
                if container is not None and container.name == ref:
                    return container
        if _is_hex(ref):
            try:
                entries = os.listdir(engine.paths.containers)
            except FileNotFoundError:
                entries = []
            matches = [e for e in entries if len(e) == 64 and e.startswith(ref)]
            loaded = [c for c in (Container.load(engine.paths.container(m)) for m in matches)
                      if c is not None]
            if len(loaded) == 1:
                return loaded[0]
            if len(loaded) > 1:
                raise Conflict(f"multiple containers found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")
    # No complete index (a root made by an older engine): scan, and index for next time.
    everything = all_containers(engine)
    with contextlib.suppress(OSError):
        rebuild_name_index(engine, everything)
    for container in everything:
        if container.name == ref:
            return container
    if _is_hex(ref):
        matches = [c for c in everything if c.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Conflict(f"multiple containers found with provided prefix: {ref}")
    raise NotFound(f"No such container: {ref}")
