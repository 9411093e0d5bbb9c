"""The OCI runtimes Moorage drives: crun and runc from the distribution's packages.

crun 1.8 refuses hosts whose cgroup2 hierarchy still owns a controller while v1 controllers are
mounted ("cgroups in hybrid mode not supported"), which is how these machines are set up. We do
not change the host: `crun create` is run in a private mount namespace whose
/sys/fs/cgroup/unified is covered by an empty tmpfs, so crun sees a pure v1 host there; `start`,
`kill`, `exec`, `delete` work from the host's namespace as they are (observed with crun 1.8.1).
runc copes with the hybrid layout unaided.
"""

import functools
import os
import shutil
import subprocess

from runtime.errors import InvalidArgument, MoorError

KNOWN = ("crun", "runc")
CGROUP_ROOT = "/sys/fs/cgroup"
UNIFIED = "/sys/fs/cgroup/unified"


@functools.lru_cache(maxsize=None)
def find_binary(name: str) -> str | None:
    for directory in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"):
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


@functools.lru_cache(maxsize=None)
def hybrid_cgroup2_owns_controllers() -> bool:
    """True when cgroup v1 controllers are mounted and the cgroup2 hierarchy beside them
    still lists a controller (crun refuses such hosts)."""
    try:
        if not os.path.ismount(UNIFIED):
            return False
        with open(os.path.join(UNIFIED, "cgroup.controllers")) as f:
            return bool(f.read().strip())
    except OSError:
        return False


class OCIRuntime:
    def __init__(self, name: str, state_root: str):
        if name not in KNOWN:
            raise InvalidArgument(f"unknown runtime {name!r}: choose one of {', '.join(KNOWN)}")
        path = find_binary(name)
        if path is None:
            raise InvalidArgument(f"runtime {name} is not installed on this host")
        self.name = name
        self.path = path
        self.state_root = state_root

    @property
    def needs_cgroup_shadow(self) -> bool:
        return self.name == "crun" and hybrid_cgroup2_owns_controllers()

    def argv(self, *args: str) -> list[str]:
        return [self.path, f"--root={self.state_root}", *args]

    def monitor_path(self) -> str:
        """The runtime binary conmon should call. Where crun needs the cgroup2 shadow, a small
        wrapper that gives only `crun create` a private mount namespace with the shadow in it;
        conmon itself, and its exit command, stay in the host's mount namespace (so unmounting
        the container's root file system on exit reaches the host's mount)."""
        if not self.needs_cgroup_shadow:
            return self.path
        wrapper = os.path.join(os.path.dirname(self.state_root), "crun-hybrid")
        script = (
            "#!/bin/sh\n"
            "# crun refuses hybrid cgroup hosts; give `create` a view without cgroup2.\n"
            "for argument in \"$@\"; do\n"
            "  if [ \"$argument\" = create ]; then\n"
            f"    exec {find_binary('unshare') or 'unshare'} --mount --propagation slave -- "
            "/bin/sh -c 'mount -t tmpfs -o size=4k,mode=0555 moorage-cgroup2-shadow "
            f"{UNIFIED} && exec \"$@\"' sh {self.path} \"$@\"\n"
            "  fi\n"
            "done\n"
            f"exec {self.path} \"$@\"\n")
        try:
            with open(wrapper) as f:
                if f.read() == script:
                    return wrapper
        except OSError:
            pass
        os.makedirs(os.path.dirname(wrapper), mode=0o700, exist_ok=True)
        temporary = f"{wrapper}.{os.getpid()}"
        with open(temporary, "w") as f:
            f.write(script)
        os.chmod(temporary, 0o755)
        os.rename(temporary, wrapper)
        return wrapper

    def run(self, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        os.makedirs(self.state_root, mode=0o700, exist_ok=True)
        result = subprocess.run(self.argv(*args), stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise MoorError(f"{self.name} {args[0]}: {error_text(result.stderr)}")
        return result

    def start(self, container_id: str) -> None:
        self.run("start", container_id)

    def kill(self, container_id: str, signal: str) -> bool:
        """Send a signal to the container's init; False when it is already gone."""
        return self.run("kill", container_id, signal, check=False).returncode == 0

    def delete(self, container_id: str) -> None:
        self.run("delete", "--force", container_id, check=False)

    def pause(self, container_id: str) -> None:
        self.run("pause", container_id)

    def resume(self, container_id: str) -> None:
        self.run("resume", container_id)

    def state(self, container_id: str) -> dict | None:
        import json
        result = self.run("state", container_id, check=False)
        if result.returncode != 0:
            return None
        try:
            return json.loads(result.stdout)
        except ValueError:
            return None


def error_text(raw: bytes | str) -> str:
    """The useful part of an OCI runtime's error output, on one line."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    line = lines[-1]
    # runc logs in logfmt: time="..." level=error msg="the message"
    if 'msg="' in line:
        line = line.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return line


def default_name() -> str:
    """The runtime a container gets when none is asked for: $MOORAGE_RUNTIME, else crun where
    it is installed (made to work on hybrid hosts, see above), else runc."""
    wanted = os.environ.get("MOORAGE_RUNTIME")
    if wanted:
        return wanted
    for name in KNOWN:
        if find_binary(name):
            return name
    raise MoorError("no OCI runtime found: install crun or runc")
