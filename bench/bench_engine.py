"""The engine against its anchors, each measured in the same run on the same busybox root file
system (as root). These machines are shared and noisy: read the ratios, not the milliseconds.

    .venv/bin/python bench/bench_engine.py [--quick]
        [--sections startup,idle,commit,logs,scale] [--runs N] [--containers N] [--scale N]
        [--json FILE]

moor runs as users run it, through `bin/moor` (the fast launcher /usr/local/bin/moor points
to), with the run's engine service up (`moor system service`: moor's commands then run in
the service's warm command server) and, on the rows marked "no service", in-process
(MOORAGE_NO_SERVICE=1) beside it. Docker is a private dockerd started for the run (see
daemons.py: its own data root, exec root, socket and containerd; no iptables, no IP
forwarding; its default network a bridge made for it), skipped with a note where dockerd
is not installed.

1. startup: `moor run --rm busybox true` (default network, a bridge) and `--network none`,
   with and without the service, against `crun run` of an equivalent OCI bundle (the floor),
   `podman run --rm --network=none` of the same root file system imported into a private
   podman store, and `docker run --rm` (none and its default bridge) against dockerd and
   against moor's service socket. Targets, like for like (`--network none`): moor with the
   service at most 0.5 x podman and 0.35 x docker (stretch: 4 x crun); the docker CLI through
   moor's socket at most 1.0 x through dockerd (default networks). For information: `moor run
   -d` and `moor rm -f`, and the interpreter moor starts. Interleaved rounds (the order
   reversed every other round) after warm-ups.
2. idle: N (200) `run -d --network none busybox sleep 100000` per engine (moor through the
   service, podman, docker), in batches of N/10, the engines in turn. Memory per container
   (target: moor no more than podman): the anonymous + kernel memory charged to each engine's
   memory cgroups over the starts, / N (each engine's commands run from a cgroup of their own,
   so it counts what they made: namespaces, mounts, monitors; and the containers' own cgroups
   are counted); the PSS of each container's monitor and of its sleep; and, machine-wide, the
   growth of AnonPages + KernelStack + PageTables + SUnreclaim + Percpu over a batch / its
   size, the median over the batches: machine-wide, so others' work on a shared machine
   swamps it. Then `moor ps -a` (with and without the service) against `docker ps -a` (target:
   at most 1.0 x) and `podman ps -a` with their N; the memory of moor's service (its
   processes' RSS together; target: at most dockerd's RSS) and dockerd's, each with its N
   containers; and the time of one command force-removing all of an engine's containers.
3. commit: a container that wrote 100 MB from /dev/urandom; `moor commit` (its image removed
   between runs) against `tar -C <upper dir> -cf - . | sha256sum` of the same files (the floor;
   target at most 1.2 x) and `podman commit` of a podman container that did the same.
4. logs: a container that printed 200,000 lines; `moor logs` against `podman logs` of the same
   (target at most 0.5 x), output to /dev/null; a plain Python parse of moor's log file as the
   floor for information.
5. scale: N (1,000) `moor run -d busybox sleep 100000` on the default network, one after
   another, timed per batch of N/10: the time per container of the last batch against the
   first (target: at most 1.25, flat), the slowest batch, and one `moor rm -f` of them all.
   moor only (podman is not needed for it): its anchor is its own first batch.

How: every engine works
in one temporary directory (moor's MOORAGE_ROOT and service socket, podman's store, dockerd's
roots, the bundle). crun 1.8 refuses
this hybrid cgroup host, so crun and podman run in a private mount namespace where the cgroup2
mount is covered by an empty tmpfs; moor and docker run in the host's namespace, as a user
runs them (moor copes with the hybrid host itself, docker's runc too). Without
CAP_SYS_RESOURCE, podman gets default rlimits it
can apply through a private containers.conf. Commands are timed from two identical runner
processes, one per namespace, the way `hyperfine -N` times them: wall time from spawn to exit,
no shell. The benchmark runs under a child subreaper, so orphaned monitors are reaped at once.

It leaves nothing behind, even when interrupted (Ctrl-C, SIGTERM): containers of every engine,
images, the service and dockerd (ended by PID), mounts, cgroups, moor's network devices and
rules, dockerd's bridge, the temporary directory, and the host paths podman and dockerd
create on first use if they were absent. A run that was killed outright is cleaned up by the
next one. It exits 0 when it measured (it is a report, not a test); 1 on a failed setup, 130
when interrupted.
"""

import argparse
import contextlib
import ctypes
import dataclasses
import datetime
import fcntl
import functools
import glob
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import daemons  # bench/, beside this file

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The launcher users run (/usr/local/bin/moor links to it), and the interpreter it starts.
MOOR = os.path.join(REPOSITORY, "bin", "moor")
MOOR_INTERPRETER = ["/usr/bin/python3", "-IS"]
FLOOR_PYTHON = "/usr/bin/python3"    # no virtualenv site: the plain interpreter
UNIFIED = "/sys/fs/cgroup/unified"
MEMORY_CGROUPS = "/sys/fs/cgroup/memory"      # the cgroup v1 memory controller
TEMP_PREFIX = "moorage-bench-engine."
LOCK = "/run/lock/moorage-bench-engine.lock"
PODMAN_IMAGE = "localhost/bench-busybox:latest"
DOCKER_IMAGE = "bench-busybox:latest"
SECTIONS = ("startup", "idle", "commit", "logs", "scale")
# Sections that measure moor against podman and the bare OCI runtime (the others need only
# moor's own busybox image).
ANCHORED = ("startup", "idle", "commit", "logs")
# Where dockerd cannot run: `docker ps -a` with 200 containers, and `podman ps -a` with 200
# beside it, as measured on a quiet machine of this kind (docker.io 20.10, podman 4.3.1).
DOCKER_PS_MS = 31.2
PODMAN_PS_MS = 77.8

# What podman creates on the host on first use, even with a private store; removed at the
# end when the run found it absent (deepest first). /run/moorage is moor's run directory.
HOST_PATHS = ("/var/lib/containers", "/var/lib/containers/cache",
              "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
              "/run/containers", "/run/containers/networks",
              "/run/containers/networks/ipam.db", "/run/moorage") + daemons.HOST_PATHS
PODMAN_CGROUPS = ("libpod_parent",)  # the cgroupfs manager's parent, one per controller
HOST_LINKS = ("podman0", daemons.BRIDGE)

# The floor of `moor logs`: parse the k8s-file log (`<time> <stream> <P|F> <message>`) and
# write the messages out, nothing else.
LOG_PARSE = """
import sys
write = sys.stdout.buffer.write
with open(sys.argv[1], "rb") as log:
    for line in log:
        _, _, flag, message = line.split(b" ", 3)
        write(message if flag == b"F" else message[:-1])
"""


class Interrupted(Exception):
    pass


class SetupFailed(Exception):
    pass


# ------------------------------------------------------------------------- stopping cleanly

_stop_signal = None


def _request_stop(signum, frame):
    global _stop_signal
    _stop_signal = signum


def check_stop():
    """Raise at a safe point once a signal asked the run to stop: the command in flight is
    allowed to finish, so no engine is interrupted half-way through a change."""
    if _stop_signal is not None:
        raise Interrupted(signal.Signals(_stop_signal).name)


def pause(seconds: float):
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        check_stop()
        time.sleep(min(0.2, left))


# ------------------------------------------------------------------------- runners

@dataclasses.dataclass
class Result:
    rc: int
    seconds: float
    out: str
    err: str


def serve(shadow_cgroup2: bool):
    """A runner: read JSON requests on stdin, run each command, answer with its exit status,
    wall time and (on request) output. Lives in its own session, so a terminal's Ctrl-C
    reaches only the benchmark, which stops at a safe point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if shadow_cgroup2:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=755",
                        "moorage-bench-cgroup2-shadow", UNIFIED], check=True,
                       capture_output=True)
    errors = tempfile.TemporaryFile()
    for line in sys.stdin:
        request = json.loads(line)
        environment = dict(os.environ)
        for name, value in (request.get("env") or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        errors.seek(0)
        errors.truncate()
        capture = request.get("capture", False)
        started = time.perf_counter()
        try:
            rc, out = run_until_exit(request["argv"], environment, capture, errors,
                                     request.get("timeout"))
        except OSError as error:
            rc, out = 127, b""
            errors.write(str(error).encode())
        seconds = time.perf_counter() - started
        errors.seek(0)
        answer = {"rc": rc, "seconds": seconds, "out": (out or b"").decode(errors="replace"),
                  "err": errors.read()[-2000:].decode(errors="replace")}
        try:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:     # the benchmark is gone (killed): nobody to answer
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return


def run_until_exit(argv, environment, capture, errors, timeout) -> tuple[int, bytes]:
    """Run a command and wait for its end in a blocking wait, so the time is taken the moment
    it exits. (`subprocess.run(timeout=...)` polls instead, sleeping up to 50 ms between
    looks: every time would be rounded up to its next poll.) A timer kills it on a timeout."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                               stderr=errors, env=environment)
    expired = threading.Event()

    def expire():
        expired.set()
        process.kill()
    timer = threading.Timer(timeout, expire) if timeout else None
    if timer:
        timer.start()
    try:
        out, _ = process.communicate()      # no timeout: read to the end, then a blocking wait
    finally:
        if timer:
            timer.cancel()
    if expired.is_set():
        errors.write(f"timed out after {timeout} s".encode())
        return 124, out or b""
    return process.returncode, out or b""


class Runner:
    """A runner process (see `serve`): `host` runs commands in the host's mount namespace;
    `shadow` in a private one where crun sees a cgroup v1 host."""

    def __init__(self, name: str, shadow: bool):
        self.name = name
        argv = [sys.executable, os.path.abspath(__file__), "--serve"]
        if shadow:
            argv = ["unshare", "--mount", "--propagation", "slave", "--", *argv,
                    *(["--shadow-cgroup2"] if cgroup2_needs_shadow() else [])]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, start_new_session=True)

    def run(self, argv: list[str], env: dict | None = None, capture: bool = False,
            check: bool = True, timeout: float = 600, stoppable: bool = True) -> Result:
        if stoppable:
            check_stop()
        request = {"argv": argv, "env": env, "capture": capture, "timeout": timeout}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SetupFailed(f"the {self.name} runner ended unexpectedly")
        result = Result(**json.loads(line))
        if check and result.rc != 0:
            raise SetupFailed(f"{' '.join(argv)}: exit {result.rc}: {last_line(result.err)}")
        return result

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"


def cgroup2_needs_shadow() -> bool:
    """True on a hybrid host whose cgroup2 hierarchy still owns a controller (crun 1.8
    refuses those)."""
    try:
        if not os.path.ismount(UNIFIED):
            return False
        with open(os.path.join(UNIFIED, "cgroup.controllers")) as f:
            return bool(f.read().strip())
    except OSError:
        return False


# ------------------------------------------------------------------------- the run's directory

class Workspace:
    """The run's temporary directory and everything in it: moor's root, podman's store and
    configuration, the OCI bundle. `host-state.json` records what the host looked like before,
    so that this run's clean-up, or the next run's, can put it back."""

    def __init__(self, directory: str):
        self.directory = directory
        self.moor_root = os.path.join(directory, "moor")
        self.bundle = os.path.join(directory, "bundle")
        self.crun_state = os.path.join(directory, "crun-state")
        self.rootfs_tar = os.path.join(directory, "busybox-rootfs.tar")
        self.containers_conf = os.path.join(directory, "containers.conf")
        self.storage_conf = os.path.join(directory, "storage.conf")
        self.podman_dir = os.path.join(directory, "podman")
        # The run's cgroups carry its name: the runners' memory cgroups (see
        # `Runners.account_in`) and the cgroup of the bundle run by crun, in every controller.
        self.cgroup_name = "moorage-bench-" + os.path.basename(directory)[len(TEMP_PREFIX):]
        self.memory_cgroup = os.path.join(MEMORY_CGROUPS, self.cgroup_name)

    @classmethod
    def create(cls) -> "Workspace":
        workspace = cls(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        state = {
            "cgroup_name": workspace.cgroup_name,
            "absent_paths": [path for path in HOST_PATHS if not os.path.lexists(path)],
            "absent_cgroups": [name for name in PODMAN_CGROUPS
                               if not glob.glob(f"/sys/fs/cgroup/*/{name}")],
            "absent_links": [name for name in HOST_LINKS
                             if not os.path.exists(f"/sys/class/net/{name}")],
            "ip_forward": read_text("/proc/sys/net/ipv4/ip_forward"),
        }
        with open(os.path.join(workspace.directory, "host-state.json"), "w") as f:
            json.dump(state, f)
        return workspace

    @property
    def moor_env(self) -> dict:
        # The engine as installed has its byte code cached; a PYTHONDONTWRITEBYTECODE in the
        # caller's environment would make every run compile the modules without a cache.
        return {"MOORAGE_ROOT": self.moor_root, "PYTHONDONTWRITEBYTECODE": None}

    @property
    def moor_env_no_service(self) -> dict:
        """moor in-process, while the run's service is up."""
        return {**self.moor_env, "MOORAGE_NO_SERVICE": "1"}

    @property
    def docker_directory(self) -> str:
        return os.path.join(self.directory, "docker")

    @property
    def docker_cgroup_parent(self) -> str:
        """Where dockerd puts its containers' cgroups (in each controller)."""
        return f"/{self.cgroup_name}/docker-containers"

    @property
    def podman_env(self) -> dict:
        return {"CONTAINERS_CONF": self.containers_conf,
                "CONTAINERS_STORAGE_CONF": self.storage_conf}


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


class Runners:
    """The two runners, started when first needed (clean-up of an earlier run needs them too).

    Once `account_in(base)` is called, each runner lives in a memory cgroup of its own,
    `<base>/host` and `<base>/shadow`, and so does everything it starts until an engine moves
    it elsewhere: the kernel then charges the memory that moor and podman (and the monitors
    they leave behind) allocate to that cgroup, whatever the rest of this shared machine does.
    Like the engines' own cgroups, they sit at the top of the memory hierarchy."""

    def __init__(self):
        self._host = self._shadow = None
        self.memory_base = None

    def account_in(self, base: str):
        if not os.path.isfile(os.path.join(MEMORY_CGROUPS, "memory.kmem.usage_in_bytes")):
            return      # no cgroup v1 memory controller: only the machine-wide estimate
        self.memory_base = base
        for runner in (self._host, self._shadow):
            if runner is not None:
                self._place(runner)

    def memory_cgroup(self, name: str) -> str | None:
        return os.path.join(self.memory_base, name) if self.memory_base else None

    def _place(self, runner: Runner) -> Runner:
        if self.memory_base:
            cgroup = self.memory_cgroup(runner.name)
            os.makedirs(cgroup, exist_ok=True)
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(runner.process.pid))
        return runner

    @property
    def host(self) -> Runner:
        if self._host is None:
            self._host = self._place(Runner("host", shadow=False))
        return self._host

    @property
    def shadow(self) -> Runner:
        if self._shadow is None:
            self._shadow = self._place(Runner("shadow", shadow=True))
        return self._shadow

    def close(self):
        for runner in (self._host, self._shadow):
            if runner is not None:
                runner.close()
        self._host = self._shadow = None


def clean_up(workspace: Workspace, runners: Runners, log=print):
    """Remove everything a run made, in an order that lets each step succeed: containers and
    images through their engines, then stray processes of the run, mounts, host state, and
    the directory itself. Each step goes on when an earlier one failed."""
    directory = workspace.directory
    # The resident daemons first, by their PID files: dockerd with its containers, then
    # moor's service (it lives in the root's cgroups, which the root's removal takes).
    for step, stop in (("dockerd", lambda: daemons.stop(workspace.docker_directory)),
                       ("moor's service",
                        lambda: daemons.stop_service(directory, workspace.moor_root))):
        try:
            stop()
        except Exception as error:
            log(f"stopping {step} failed: {error!r}")
    if os.path.isdir(workspace.moor_root):
        try:
            destroy_moor_root(workspace.moor_root)
        except Exception as error:  # the steps below still run; say what is left
            log(f"removing moor's root failed: {error!r}")
    if os.path.exists(workspace.containers_conf) and shutil.which("podman"):
        for argv in (["podman", "rm", "-a", "-f", "-t", "0"], ["podman", "rmi", "-a", "-f"]):
            try:
                result = runners.shadow.run(argv, env=workspace.podman_env, check=False,
                                            timeout=300, stoppable=False)
                if result.rc != 0:
                    log(f"{' '.join(argv)}: {last_line(result.err)}")
            except Exception as error:
                log(f"{' '.join(argv)}: {error!r}")
    crun_states = []
    if os.path.isdir(workspace.crun_state):
        crun_states += [(workspace.crun_state, entry) for entry in os.listdir(workspace.crun_state)]
    for status in glob.glob("/run/crun/*/status"):   # podman's crun state, if podman failed
        with contextlib.suppress(OSError):
            if directory + "/" in read_text(status):
                crun_states.append(("/run/crun", os.path.basename(os.path.dirname(status))))
    for state_root, container in crun_states:
        with contextlib.suppress(Exception):
            runners.shadow.run(["crun", f"--root={state_root}", "delete", "-f", container],
                               check=False, stoppable=False)
    end_processes_of(directory, log)
    runners.close()
    unmount_under(directory)
    restore_host_state(directory, log)
    subprocess.run(["rm", "-rf", "--one-file-system", directory], check=False)
    if os.path.exists(directory):
        log(f"could not remove all of {directory}")


def destroy_moor_root(root: str):
    """Every trace of a moor root on the host: containers (with their mounts, cgroups,
    runtime state and network attachments), its log keeper, bridges and rules, the cgroup
    parents and the run directory under /run/moorage."""
    if REPOSITORY not in sys.path:
        sys.path.insert(0, REPOSITORY)
    from runtime import housekeeping, network
    from runtime.api import Engine
    from runtime.container import logkeeper, removal, state as records

    engine = Engine(root)
    for container in records.all_containers(engine):
        with contextlib.suppress(Exception):
            removal.remove(engine, container, force=True)
    logkeeper.stop(engine.paths)
    with contextlib.suppress(Exception):
        housekeeping.gc(engine)
    with contextlib.suppress(Exception):
        network.teardown(engine.paths)
    for parent in glob.glob(f"/sys/fs/cgroup/*/{engine.paths.cgroup_parent}") + \
            glob.glob(f"/sys/fs/cgroup/{engine.paths.cgroup_parent}"):
        remove_cgroup_tree(parent)
    shutil.rmtree(engine.paths.run, ignore_errors=True)


def remove_cgroup_tree(path: str):
    for directory, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def processes_naming(text: str) -> list[int]:
    """PIDs of processes whose command line contains `text` (this run's unique directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and parent_of(int(entry)) == pid:
            found.append(int(entry))
    return found


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def end_processes_of(directory: str, log):
    """Monitors and clean-up processes of this run exit on their own once their containers
    are gone; whatever still names the run's directory after 10 s is killed by PID, with the
    container processes it monitors."""
    deadline = time.monotonic() + 10
    while processes_naming(directory + "/") and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in processes_naming(directory + "/"):
        for victim in children_of(pid) + [pid]:
            log(f"killing leftover process {victim}")
            with contextlib.suppress(OSError):
                os.kill(victim, signal.SIGKILL)


def unmount_under(directory: str):
    targets = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split(" ")[4].replace("\\040", " ")
            if target == directory or target.startswith(directory + "/"):
                targets.append(target)
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)


def restore_host_state(directory: str, log):
    try:
        with open(os.path.join(directory, "host-state.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return
    for name in state["absent_cgroups"]:
        for path in glob.glob(f"/sys/fs/cgroup/*/{name}"):
            remove_cgroup_tree(path)
    for path in glob.glob(f"/sys/fs/cgroup/*/{state['cgroup_name']}"):
        remove_cgroup_tree(path)
        if os.path.isdir(path):
            log(f"could not remove {path}: processes are left in it")
    for name in state["absent_links"]:
        if os.path.exists(f"/sys/class/net/{name}"):
            subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
    for path in sorted(state["absent_paths"], reverse=True):
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)       # only when empty: someone else may use it by now
            elif os.path.lexists(path):
                os.unlink(path)
    # moor's bridge turns IP forwarding on; turn it back off only when no other engine root
    # has a bridge that relies on it.
    before = state["ip_forward"]
    if read_text("/proc/sys/net/ipv4/ip_forward") != before:
        others = [alias for alias in glob.glob("/sys/class/net/*/ifalias")
                  if read_text(alias).startswith("moorage:")]
        if others:
            log(f"left net.ipv4.ip_forward on: {len(others)} other moorage bridge(s) need it")
        else:
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write(before)


def clean_stale_runs(runners: Runners, log):
    """Runs killed outright (SIGKILL, a reboot of the shell) leave their directory; the lock
    we hold means none of them is still running."""
    for directory in sorted(glob.glob(os.path.join(tempfile.gettempdir(), TEMP_PREFIX + "*"))):
        if os.path.isdir(directory):
            log(f"cleaning up after an earlier run that did not finish: {directory}")
            clean_up(Workspace(directory), runners, log)


# ------------------------------------------------------------------------- measuring

@dataclasses.dataclass
class Timed:
    """One timed command; `prepare` commands run untimed before each run of it."""
    name: str
    runner: Runner
    argv: list[str]
    env: dict | None = None
    prepare: list = dataclasses.field(default_factory=list)   # [(runner, argv, env)]


@dataclasses.dataclass
class Timing:
    section: str
    name: str
    samples_ms: list[float]
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None


@dataclasses.dataclass
class Figure:
    section: str
    name: str
    value: float | None
    unit: str
    note: str = ""


@dataclasses.dataclass
class Target:
    """`subject / anchor` (both names of a Timing or Figure) should be at most `limit`."""
    section: str
    subject: str
    anchor: str
    limit: float | None
    note: str = ""


class Report:
    def __init__(self):
        self.timings: dict[str, Timing] = {}
        self.figures: dict[str, Figure] = {}
        self.targets: list[Target] = []
        self.notes: list[str] = []
        self.failures: list[str] = []

    def value(self, name: str) -> float | None:
        if name in self.timings:
            return self.timings[name].median
        if name in self.figures:
            return self.figures[name].value
        return None

    def ratio(self, target: Target) -> float | None:
        subject, anchor = self.value(target.subject), self.value(target.anchor)
        if subject is None or not anchor:
            return None
        return subject / anchor

    def figure(self, section, name, value, unit, note=""):
        self.figures[name] = Figure(section, name, value, unit, note)

    def fail(self, section: str, what: str):
        self.failures.append(f"{section}: {what}")
        print(f"  FAILED {what}", flush=True)


def measure(report: Report, section: str, groups: list[list[Timed]], runs: int,
            warmups: int):
    """Run the groups round after round (reversing their order every other round, so that
    none always goes first), time each command, and keep the rounds after the warm-ups. A
    command that fails is reported and dropped from the following rounds; its group stops."""
    timings = {timed.name: Timing(section, timed.name, []) for group in groups for timed in group}
    for round_number in range(warmups + runs):
        for group in groups if round_number % 2 == 0 else groups[::-1]:
            for timed in group:
                timing = timings[timed.name]
                if timing.error:
                    break
                for runner, argv, env in timed.prepare:
                    runner.run(argv, env=env, check=False)
                result = timed.runner.run(timed.argv, env=timed.env, check=False)
                if result.rc != 0:
                    timing.error = f"exit {result.rc}: {last_line(result.err)}"
                    report.fail(section, f"{timed.name}: {timing.error}")
                    break
                if round_number >= warmups:
                    timing.samples_ms.append(result.seconds * 1000)
    report.timings.update(timings)


# ------------------------------------------------------------------------- memory

MEMORY_FIELDS = ("AnonPages", "KernelStack", "PageTables", "SUnreclaim", "Percpu")


def anon_and_kernel_kib() -> int:
    """Memory that is neither page cache nor reclaimable (less noisy than MemAvailable)."""
    total = 0
    with open("/proc/meminfo") as f:
        for line in f:
            name, value = line.split(":", 1)
            if name in MEMORY_FIELDS:
                total += int(value.split()[0])
    return total


def rollup_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def charged_kib(cgroups: list[str]) -> int:
    """Anonymous plus kernel memory charged to these v1 memory cgroups and their children."""
    total = 0
    for cgroup in cgroups:
        try:
            with open(os.path.join(cgroup, "memory.stat")) as f:
                anonymous = next(int(line.split()[1]) for line in f
                                 if line.startswith("total_rss "))
            kernel = int(read_text(os.path.join(cgroup, "memory.kmem.usage_in_bytes")))
        except (OSError, StopIteration, ValueError):
            continue        # not made yet (the engine's parent cgroup before its first start)
        total += anonymous + kernel
    return total // 1024


def memory_cgroup_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "memory" in controllers.split(","):
                    return MEMORY_CGROUPS + path
    except OSError:
        pass
    return None


def settled_memory() -> int:
    os.sync()
    pause(2)
    return anon_and_kernel_kib()


# ------------------------------------------------------------------------- the sections

class Bench:
    def __init__(self, workspace: Workspace, runners: Runners, report: Report, args):
        self.ws = workspace
        self.host = runners.host
        self.shadow = runners.shadow
        self.report = report
        self.args = args
        # Where each engine's memory is charged: its runner's cgroup (the CLI, the OCI
        # runtime, the namespaces and mounts made for a container, the monitor) and the
        # parent of its containers' cgroups.
        self.accounted = None
        self.docker_daemon_cgroup = runners.memory_cgroup("docker-daemon")
        if runners.memory_base:
            self.accounted = {
                "moor": [runners.memory_cgroup("host"),
                         os.path.join(MEMORY_CGROUPS, moor_cgroup_parent(workspace.moor_root))],
                "podman": [runners.memory_cgroup("shadow"),
                           os.path.join(MEMORY_CGROUPS, "libpod_parent")],
                # dockerd, its containerd and shims, and its containers' cgroups.
                "docker": [self.docker_daemon_cgroup,
                           MEMORY_CGROUPS + workspace.docker_cgroup_parent],
            }
        self.service = daemons.MoorService(workspace.directory, moor_argv, workspace.moor_root)
        self.dockerd = daemons.PrivateDockerd(workspace.directory,
                                              workspace.docker_cgroup_parent) \
            if daemons.PrivateDockerd.available() else None

    def moor(self, *args, capture=True, check=True, timeout=600) -> Result:
        return self.host.run(moor_argv(*args), env=self.ws.moor_env, capture=capture,
                             check=check, timeout=timeout)

    def podman(self, *args, capture=True, check=True, timeout=600) -> Result:
        return self.shadow.run(["podman", *args], env=self.ws.podman_env, capture=capture,
                               check=check, timeout=timeout)

    def timed_moor(self, name, *args, prepare=()) -> Timed:
        return Timed(name, self.host, moor_argv(*args), self.ws.moor_env, list(prepare))

    def timed_podman(self, name, *args, prepare=()) -> Timed:
        return Timed(name, self.shadow, ["podman", *args], self.ws.podman_env, list(prepare))

    def timed_moor_in_process(self, name, *args) -> Timed:
        return Timed(name, self.host, moor_argv(*args), self.ws.moor_env_no_service)

    def docker(self, *args, check=True, timeout=600) -> Result:
        return self.host.run([daemons.DOCKER, *args], env=self.dockerd.env, capture=True,
                             check=check, timeout=timeout)

    def timed_docker(self, name, *args, env=None) -> Timed:
        """docker against the private dockerd, or with `env` against another socket."""
        return Timed(name, self.host, [daemons.DOCKER, *args], env or self.dockerd.env)

    # setup ------------------------------------------------------------------------------

    def setup(self):
        """moor's busybox image; for the anchored sections, its root file system as a tar,
        and the OCI bundle and the podman image made from that tar."""
        os.makedirs(self.ws.moor_root)
        self.moor("image", "bootstrap", "busybox", timeout=120)
        self.service.start()
        self.moor("run", "--rm", "--network", "none", "busybox", "true")
        if not any(section in ANCHORED for section in self.args.sections):
            return
        layer = self.busybox_layer()
        subprocess.run(["tar", "--numeric-owner", "-C", layer, "-cf", self.ws.rootfs_tar, "."],
                       check=True)
        rootfs = os.path.join(self.ws.bundle, "rootfs")
        os.makedirs(rootfs)
        subprocess.run(["tar", "--numeric-owner", "-C", rootfs, "-xpf", self.ws.rootfs_tar],
                       check=True)
        subprocess.run(["runc", "spec", "--bundle", self.ws.bundle], check=True)
        config_path = os.path.join(self.ws.bundle, "config.json")
        with open(config_path) as f:
            config = json.load(f)
        config["process"]["terminal"] = False
        config["process"]["args"] = ["/bin/true"]
        config["linux"]["cgroupsPath"] = f"/{self.ws.cgroup_name}/crun"   # not "/bench-crun"
        with open(config_path, "w") as f:
            json.dump(config, f, indent=1)
        os.makedirs(self.ws.crun_state)
        self.write_podman_config()
        self.podman("import", "-q", self.ws.rootfs_tar, PODMAN_IMAGE, timeout=120)
        self.podman("run", "--rm", "--network=none", PODMAN_IMAGE, "/bin/true", timeout=120)
        self.shadow.run(["crun", f"--root={self.ws.crun_state}", "run", "--bundle",
                         self.ws.bundle, "bench-crun"])
        if self.dockerd is None:
            self.report.notes.append("dockerd is not installed: Docker's rows are missing "
                                     f"and `docker ps -a` is the {DOCKER_PS_MS} ms of an "
                                     "earlier quiet run (apt-get install docker.io)")
            return
        try:
            self.dockerd.start(self.docker_daemon_cgroup, cgroup2_needs_shadow())
            self.dockerd.docker("import", self.ws.rootfs_tar, DOCKER_IMAGE, timeout=300)
            self.docker("run", "--rm", "--network", "none", DOCKER_IMAGE, "true")
            self.docker("tag", DOCKER_IMAGE, "busybox:latest")
        except (RuntimeError, TimeoutError, SetupFailed) as error:
            self.report.fail("setup", f"dockerd: {error}")
            self.dockerd = None

    @property
    def service_env(self) -> dict:
        """The docker CLI pointed at moor's service."""
        return {"DOCKER_HOST": self.service.url,
                "DOCKER_CONFIG": os.path.join(self.ws.directory, "docker-client-moor")}

    def busybox_layer(self) -> str:
        image = json.loads(self.moor("image", "inspect", "busybox").out)[0]
        diff_id = image["RootFS"]["Layers"][-1]
        for path in glob.glob(os.path.join(self.ws.moor_root, "layers", "*", "layer.json")):
            with open(path) as f:
                if json.load(f).get("diff_id") == diff_id:
                    return os.path.join(os.path.dirname(path), "diff")
        raise SetupFailed(f"no layer directory for {diff_id} in {self.ws.moor_root}/layers")

    def write_podman_config(self):
        lines = ["[containers]"]
        capabilities = int(next(line.split()[1] for line in open("/proc/self/status")
                                if line.startswith("CapEff:")), 16)
        if not capabilities >> 24 & 1:
            # Without CAP_SYS_RESOURCE podman cannot apply its own defaults (1048576), and
            # it lowers its NPROC to 32768 itself.
            files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            processes = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            processes = 32768 if processes == resource.RLIM_INFINITY else min(processes, 32768)
            lines.append(f'default_ulimits = ["nofile={files}:{files}", '
                         f'"nproc={processes}:{processes}"]')
            self.report.notes.append(f"no CAP_SYS_RESOURCE: podman's default rlimits set to "
                                     f"nofile={files} nproc={processes}")
        lines += ['log_driver = "k8s-file"', "[engine]", 'cgroup_manager = "cgroupfs"',
                  'events_logger = "file"',
                  f'events_logfile_path = "{self.ws.podman_dir}/events.log"',
                  f'tmp_dir = "{self.ws.podman_dir}/tmp"', 'runtime = "crun"']
        with open(self.ws.containers_conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(self.ws.storage_conf, "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{self.ws.podman_dir}/root"\n'
                    f'runroot = "{self.ws.podman_dir}/run"\n')

    # 1. startup -------------------------------------------------------------------------

    def startup(self):
        runs, warmups = self.args.runs, self.args.warmups
        section_header("startup", f"one container running true; {runs} interleaved rounds "
                                  f"after {warmups} warm-up(s)")
        crun = ["crun", f"--root={self.ws.crun_state}", "run", "--bundle", self.ws.bundle,
                "bench-crun"]
        moor_none, moor_bridge = "moor run --rm --network none", "moor run --rm busybox true"
        groups = [
            [self.timed_moor(moor_bridge, "run", "--rm", "busybox", "true")],
            [self.timed_moor(moor_none, "run", "--rm", "--network", "none", "busybox", "true")],
            [Timed("crun run (floor)", self.shadow, crun)],
            [self.timed_podman("podman run --rm --network=none", "run", "--rm",
                               "--network=none", PODMAN_IMAGE, "/bin/true")],
            [self.timed_moor_in_process(moor_bridge + ", no service", "run", "--rm",
                                        "busybox", "true")],
            [self.timed_moor_in_process(moor_none + ", no service", "run", "--rm",
                                        "--network", "none", "busybox", "true")],
            [self.timed_moor("moor run --rm --runtime runc", "run", "--rm", "--runtime",
                             "runc", "--network", "none", "busybox", "true")],
            [self.timed_moor("moor run -d busybox sleep", "run", "-d", "--name",
                             "bench-detached", "busybox", "sleep", "100000"),
             self.timed_moor("moor rm -f (that container)", "rm", "-f", "bench-detached")],
            [Timed("python -IS -c pass (moor's interpreter)", self.host,
                   [*MOOR_INTERPRETER, "-c", "pass"], {"PYTHONDONTWRITEBYTECODE": None})],
        ]
        if self.dockerd is not None:
            groups += [
                [self.timed_docker("docker run --rm --network none", "run", "--rm",
                                   "--network", "none", DOCKER_IMAGE, "true")],
                [self.timed_docker("docker run --rm busybox true", "run", "--rm",
                                   DOCKER_IMAGE, "true")],
                [self.timed_docker("docker run --rm --network none, moor's socket", "run",
                                   "--rm", "--network", "none", "busybox", "true",
                                   env=self.service_env)],
                [self.timed_docker("docker run --rm busybox true, moor's socket", "run",
                                   "--rm", "busybox", "true", env=self.service_env)],
            ]
        measure(self.report, "startup", groups, runs, warmups)
        self.report.targets += [
            Target("startup", moor_none, "podman run --rm --network=none", 0.5,
                   "like for like, through the service"),
            Target("startup", moor_none, "docker run --rm --network none", 0.35,
                   "like for like, through the service"),
            Target("startup", moor_none, "crun run (floor)", 4.0, "stretch"),
            Target("startup", moor_none + ", no service", "podman run --rm --network=none",
                   None),
            Target("startup", moor_bridge, "docker run --rm busybox true", None,
                   "default networks: a bridge each"),
            Target("startup", moor_bridge, "moor run --rm --network none", None,
                   "what the bridge adds"),
            Target("startup", "docker run --rm busybox true, moor's socket",
                   "docker run --rm busybox true", 1.0, "the docker CLI, default networks"),
            Target("startup", "docker run --rm --network none, moor's socket",
                   "docker run --rm --network none", None),
        ]
        print_timings(self.report, "startup")

    # 2. idle ----------------------------------------------------------------------------

    def idle(self):
        count = self.args.containers
        batch = max(1, count // 10)
        engines = "moor, podman and docker" if self.dockerd else "moor and podman"
        section_header("idle", f"{count} sleeping containers per engine, started in batches "
                               f"of {batch}, {engines} in turn")
        starters = {
            # All without a network, as the anchor was measured (podman --network=none); a
            # bridge attachment adds a veth pair and a namespace, ~70 KiB, on either engine.
            "moor": lambda i: self.moor("run", "-d", "--network", "none", "--name",
                                        f"bench-idle-{i}", "busybox", "sleep", "100000",
                                        check=False),
            "podman": lambda i: self.podman("run", "-d", "--network=none", "--name",
                                            f"bench-idle-{i}", PODMAN_IMAGE, "sleep", "100000",
                                            check=False),
        }
        if self.dockerd is not None:
            starters["docker"] = lambda i: self.docker(
                "run", "-d", "--network", "none", "--name", f"bench-idle-{i}", DOCKER_IMAGE,
                "sleep", "100000", check=False)
        started = self.start_idle(starters, count, batch)
        for engine, refs in started.items():
            self.measure_idle_processes(engine, refs)
        listed = {"moor": len(self.moor("ps", "-a").out.splitlines()) - 1,
                  "podman": len(self.podman("ps", "-a").out.splitlines()) - 1}
        if self.dockerd is not None:
            listed["docker"] = len(self.docker("ps", "-a").out.splitlines()) - 1
        self.report.notes.append("idle: " + ", ".join(f"`{engine} ps -a` listed {number}"
                                                      for engine, number in listed.items()))
        numbers = {engine: len(refs) for engine, refs in started.items()}
        moor_ps = f"moor ps -a ({numbers['moor']})"
        podman_ps = f"podman ps -a ({numbers['podman']})"
        groups = [[self.timed_moor(moor_ps, "ps", "-a")],
                  [self.timed_moor_in_process(moor_ps + ", no service", "ps", "-a")],
                  [self.timed_podman(podman_ps, "ps", "-a")]]
        if self.dockerd is not None:
            docker_ps = f"docker ps -a ({numbers['docker']})"
            groups.append([self.timed_docker(docker_ps, "ps", "-a")])
            self.idle_memory(numbers)
        else:
            docker_ps = "docker ps -a (200, reference)"
            self.report.figure("idle", docker_ps, DOCKER_PS_MS, "ms",
                               "measured earlier on a quiet machine of this kind")
        measure(self.report, "idle", groups, self.args.list_runs, self.args.list_warmups)
        if self.dockerd is None and self.report.value(podman_ps) is not None:
            # On a busy machine a stored time says little: also scaled by podman, measured
            # beside it then and beside moor now.
            self.report.figure("idle", "docker ps -a (scaled by this run's podman)",
                               self.report.value(podman_ps) * DOCKER_PS_MS / PODMAN_PS_MS, "ms")
        moor_ids = started["moor"]
        self.remove_idle("moor", moor_ids, lambda: self.moor(
            "rm", "-f", *moor_ids, timeout=1800, check=False))
        self.remove_idle("podman", started["podman"], lambda: self.podman(
            "rm", "-f", "-t", "0", *started["podman"], timeout=1800, check=False))
        if self.dockerd is not None:
            self.remove_idle("docker", started["docker"], lambda: self.docker(
                "rm", "-f", *started["docker"], timeout=1800, check=False))
        self.report.targets += [
            Target("idle", moor_ps, docker_ps, 1.0, "moor through the service"),
            Target("idle", moor_ps + ", no service", docker_ps, None),
            Target("idle", moor_ps, podman_ps, None),
            Target("idle", "moor charged per container", "podman charged per container", 1.0,
                   "anonymous + kernel memory charged to each engine's cgroups"),
            Target("idle", "moor anon+kernel per container", "podman anon+kernel per container",
                   None, "machine-wide, median over the batches: noisy on a shared machine"),
            Target("idle", "moor conmon+sleep PSS per container",
                   "podman conmon+sleep PSS per container", 1.0),
        ]
        if self.dockerd is not None:
            self.report.targets += [
                Target("idle", "moor service RSS", "dockerd RSS", 1.0,
                       f"each with its {numbers['moor']} and {numbers['docker']} containers"),
                Target("idle", "moor service PSS", "dockerd PSS", None),
                Target("idle", "moor charged per container", "docker charged per container",
                       None),
            ]
        print_timings(self.report, "idle")
        print_side_by_side(self.report, "idle", tuple(starters), IDLE_FIGURES)
        print_figures(self.report, "idle-daemons")
        print_targets(self.report, "idle", only_figures=True)

    def idle_memory(self, numbers: dict):
        """The resident processes of moor and of Docker, each with its idle containers."""
        figure = functools.partial(self.report.figure, "idle-daemons")
        note = f"with {numbers['moor']} containers"
        figure("moor service RSS", self.service.memory_kib("Rss") / 1024, "MiB",
               note + ": the API server and its command server together")
        figure("moor service PSS", self.service.memory_kib("Pss") / 1024, "MiB", note)
        note = f"with {numbers['docker']} containers"
        pid = self.dockerd.pid
        figure("dockerd RSS", rollup_kib(pid, "Rss") / 1024 if pid else None, "MiB", note)
        figure("dockerd PSS", rollup_kib(pid, "Pss") / 1024 if pid else None, "MiB", note)
        containerd = [child for child in children_of(pid) if "containerd" in
                      read_text(f"/proc/{child}/comm")] if pid else []
        figure("containerd RSS (for information)",
               sum(rollup_kib(child, "Rss") for child in containerd) / 1024, "MiB", note)

    def start_idle(self, starters: dict, count: int, batch: int) -> dict[str, list[str]]:
        """Start `count` containers per engine one after the other, a batch of each engine in
        turn, and estimate the memory each holds: the growth of anonymous and kernel memory
        over a batch, divided by its size. Others' work on this shared machine moves that
        number by tens of MiB at a time; the median over the batches ignores such steps,
        and taking turns exposes both engines to the same drift."""
        started = {engine: [] for engine in starters}
        estimates = {engine: [] for engine in starters}
        seconds = {engine: 0.0 for engine in starters}
        failed = set()
        print(f"  starting {count} containers of each engine ...", flush=True)
        memory = settled_memory()
        charged = {engine: charged_kib(self.accounted[engine]) if self.accounted else None
                   for engine in starters}
        while any(len(started[e]) < count for e in starters if e not in failed):
            for engine, start in starters.items():
                refs = started[engine]
                goal = min(count, len(refs) + batch)
                if engine in failed or len(refs) >= goal:
                    continue
                began, before = time.perf_counter(), len(refs)
                while len(refs) < goal:
                    check_stop()
                    result = start(len(refs))
                    if result.rc != 0:
                        self.report.fail("idle", f"{engine} start #{len(refs)}: "
                                                 f"{last_line(result.err)}")
                        failed.add(engine)
                        break
                    refs.append(f"bench-idle-{len(refs)}" if engine == "podman"
                                else result.out.strip())
                seconds[engine] += time.perf_counter() - began
                after = settled_memory()
                if len(refs) > before:
                    estimates[engine].append((after - memory) / (len(refs) - before))
                memory = after
        for engine, refs in started.items():
            if not refs:
                continue
            figure = functools.partial(self.report.figure, "idle")
            figure(f"{engine} started", len(refs), "containers")
            figure(f"{engine} mean detached start", 1000 * seconds[engine] / len(refs), "ms")
            if self.accounted:
                figure(f"{engine} charged per container",
                       (charged_kib(self.accounted[engine]) - charged[engine]) / len(refs), "KiB")
            figure(f"{engine} anon+kernel per container", statistics.median(estimates[engine]),
                   "KiB")
            figure(f"{engine} anon+kernel, lowest batch", min(estimates[engine]), "KiB")
            figure(f"{engine} anon+kernel, highest batch", max(estimates[engine]), "KiB")
        return started

    def measure_idle_processes(self, engine: str, refs: list[str]):
        """PSS and RSS of each container's monitor (its process's parent) and process."""
        if not refs:
            return
        pids = self.container_pids(engine, refs)
        monitors = [pid for pid in map(parent_of, pids) if pid]
        if not pids or not monitors:
            self.report.fail("idle", f"{engine}: no live container process found")
            return
        names = sorted({read_text(f"/proc/{pid}/comm") for pid in monitors
                        if os.path.exists(f"/proc/{pid}/comm")})
        self.report.notes.append(f"idle: {engine}'s monitor process: {', '.join(names)}; "
                                 f"{len(pids)} of {len(refs)} containers measured alive")
        if self.accounted:
            outside = sorted({cgroup for cgroup in map(memory_cgroup_of, pids + monitors)
                              if cgroup and not any(cgroup == root or cgroup.startswith(root + "/")
                                                    for root in self.accounted[engine])})
            if outside:
                self.report.notes.append(
                    f"idle: {engine} processes outside the accounted cgroups, so not in "
                    f"'charged per container': {', '.join(outside[:3])}")

        def mean(pids, field):
            return sum(rollup_kib(pid, field) for pid in pids) / len(pids)
        figure = functools.partial(self.report.figure, "idle")
        figure(f"{engine} monitor PSS per container", mean(monitors, "Pss"), "KiB")
        figure(f"{engine} monitor anonymous PSS", mean(monitors, "Pss_Anon"), "KiB")
        figure(f"{engine} monitor RSS", mean(monitors, "Rss"), "KiB")
        figure(f"{engine} sleep PSS per container", mean(pids, "Pss"), "KiB")
        figure(f"{engine} conmon+sleep PSS per container",
               mean(monitors, "Pss") + mean(pids, "Pss"), "KiB")

    def container_pids(self, engine: str, refs: list[str]) -> list[int]:
        if engine == "moor":
            documents = json.loads(self.moor("inspect", *refs).out)
            pids = [document["State"]["Pid"] for document in documents]
        elif engine == "docker":
            pids = [int(word) for word in
                    self.docker("inspect", "--format", "{{.State.Pid}}", *refs).out.split()]
        else:
            pids = [int(word) for word in
                    self.podman("inspect", "--format", "{{.State.Pid}}", *refs).out.split()]
        return [pid for pid in pids if pid and os.path.exists(f"/proc/{pid}")]

    def remove_idle(self, engine: str, refs: list[str], remove):
        """One command removing them all, timed."""
        if not refs:
            return
        print(f"  removing the {engine} containers ...", flush=True)
        result = remove()
        if result.rc != 0:
            self.report.fail("idle", f"{engine} force-remove: {last_line(result.err)}")
        self.report.figure("idle", f"{engine} force-remove all", result.seconds, "s")

    # 3. commit --------------------------------------------------------------------------

    def commit(self):
        megabytes = self.args.commit_mb
        runs, warmups = self.args.commit_runs, 1
        section_header("commit", f"a container that wrote {megabytes} MB from /dev/urandom; "
                                 f"{runs} interleaved rounds after {warmups} warm-up")
        writer = ["dd", "if=/dev/urandom", "of=/data.bin", "bs=1M", f"count={megabytes}"]
        self.moor("run", "--name", "bench-writer", "--network", "none", "busybox", *writer,
                  timeout=300)
        upper = self.moor("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}",
                          "bench-writer").out.strip()
        self.podman("run", "--name", "bench-writer", "--network=none", PODMAN_IMAGE, *writer,
                    timeout=300)
        forget_moor = (self.host, moor_argv("rmi", "bench-commit"), self.ws.moor_env)
        forget_podman = (self.shadow, ["podman", "rmi", "-f", "localhost/bench-commit:latest"],
                         self.ws.podman_env)
        measure(self.report, "commit", [
            [self.timed_moor("moor commit", "commit", "bench-writer", "bench-commit",
                             prepare=[forget_moor])],
            [Timed("tar -cf - . | sha256sum (floor)", self.host,
                   ["sh", "-c", 'tar -C "$1" -cf - . | sha256sum >/dev/null', "sh", upper])],
            [self.timed_podman("podman commit", "commit", "-q", "bench-writer",
                               "localhost/bench-commit:latest", prepare=[forget_podman])],
        ], runs, warmups)
        for runner, argv, env in (forget_moor, forget_podman):
            runner.run(argv, env=env, check=False)
        self.moor("rm", "-f", "bench-writer", check=False)
        self.podman("rm", "-f", "bench-writer", check=False)
        self.report.targets += [
            Target("commit", "moor commit", "tar -cf - . | sha256sum (floor)", 1.2),
            Target("commit", "moor commit", "podman commit", None),
        ]
        print_timings(self.report, "commit")

    # 4. logs ----------------------------------------------------------------------------

    def logs(self):
        lines = self.args.log_lines
        runs, warmups = self.args.log_runs, 2
        section_header("logs", f"a container that printed {lines:,} lines; {runs} interleaved "
                               f"rounds after {warmups} warm-ups, output to /dev/null")
        printer = ["seq", "1", str(lines)]
        self.moor("run", "-d", "--name", "bench-printer", "--network", "none", "busybox",
                  *printer)
        self.moor("wait", "bench-printer", timeout=300)
        self.podman("run", "-d", "--name", "bench-printer", "--network=none", PODMAN_IMAGE,
                    *printer)
        self.podman("wait", "bench-printer", timeout=300)
        for engine, run in (("moor", self.moor), ("podman", self.podman)):
            got = len(run("logs", "bench-printer").out.splitlines())
            if got != lines:
                self.report.fail("logs", f"{engine} logs returned {got} of {lines} lines")
        log_path = self.moor("inspect", "--format", "{{.LogPath}}", "bench-printer").out.strip()
        self.report.figure("logs", "moor log file", os.path.getsize(log_path) / 1e6, "MB")
        floor = FLOOR_PYTHON if os.path.exists(FLOOR_PYTHON) else sys.executable
        measure(self.report, "logs", [
            [self.timed_moor("moor logs", "logs", "bench-printer")],
            [self.timed_podman("podman logs", "logs", "bench-printer")],
            [Timed("python parse of moor's log (floor)", self.host,
                   [floor, "-I", "-c", LOG_PARSE, log_path])],
        ], runs, warmups)
        self.moor("rm", "-f", "bench-printer", check=False)
        self.podman("rm", "-f", "bench-printer", check=False)
        self.report.targets += [
            Target("logs", "moor logs", "podman logs", 0.5),
            Target("logs", "moor logs", "python parse of moor's log (floor)", None),
        ]
        print_timings(self.report, "logs")
        print_figures(self.report, "logs")


    # 5. scale -----------------------------------------------------------------------------

    def scale(self):
        """Start N containers one after the other, in batches, and compare the time per
        container of the last batch with the first: with 1,000 containers on a host, a start
        should cost what it cost with none (the kernel's own per-mount costs aside)."""
        count = self.args.scale
        batch = max(1, count // 10)
        section_header("scale", f"{count} x `moor run -d busybox sleep 100000` (default "
                                f"network) one after another, timed per batch of {batch}")
        cpu = self.scale_cpu_cgroups()
        started, per_container, cpu_per_container = [], [], []
        for _ in range(10):    # warm-ups: caches, the bridge's first use
            warm = self.moor("run", "-d", "busybox", "sleep", "100000", check=False)
            if warm.rc == 0:
                self.moor("rm", "-f", warm.out.strip(), check=False)
        print(f"  {'containers':>11}  {'batch':>8}  {'wall per start':>14}  "
              f"{'CPU per start':>13}  load", flush=True)
        while len(started) < count:
            goal, spent = min(count, len(started) + batch), 0.0
            first = len(started) + 1
            cpu_before = cpu_usage_seconds(cpu)
            while len(started) < goal:
                result = self.moor("run", "-d", "busybox", "sleep", "100000", check=False)
                if result.rc != 0:
                    self.report.fail("scale", f"start #{len(started) + 1}: "
                                              f"{last_line(result.err)}")
                    break
                spent += result.seconds
                started.append(result.out.strip())
            if len(started) < goal:
                break
            per_container.append(1000 * spent / (goal - first + 1))
            cpu_spent = cpu_usage_seconds(cpu) - cpu_before if cpu else None
            cpu_per_container.append(None if cpu_spent is None
                                     else 1000 * cpu_spent / (goal - first + 1))
            load = read_text("/proc/loadavg").split()[0]
            cpu_text = "n/a" if cpu_spent is None else f"{cpu_per_container[-1]:10.1f} ms"
            print(f"  {first:>5}-{goal:<5}  {spent:6.1f} s  {per_container[-1]:11.1f} ms  "
                  f"{cpu_text:>13}  {load}", flush=True)
        if per_container:
            figure = functools.partial(self.report.figure, "scale")
            figure("started", len(started), "containers")
            figure("first batch, per container", per_container[0], "ms")
            figure("last batch, per container", per_container[-1], "ms")
            figure("slowest batch, per container", max(per_container), "ms")
            self.report.targets += [
                Target("scale", "last batch, per container", "first batch, per container",
                       1.25, "flat: the last batch's starts cost what the first's did"),
                Target("scale", "slowest batch, per container", "first batch, per container",
                       None),
            ]
            if cpu_per_container[0] is not None:
                figure("first batch, CPU per start", cpu_per_container[0], "ms")
                figure("last batch, CPU per start", cpu_per_container[-1], "ms")
                self.report.targets.append(Target(
                    "scale", "last batch, CPU per start", "first batch, CPU per start", 1.25,
                    "CPU time is what others' load on a shared machine does not inflate"))
        if started:
            print(f"  removing the {len(started)} containers ...", flush=True)
            result = self.moor("rm", "-f", *started, timeout=3600, check=False)
            if result.rc != 0:
                self.report.fail("scale", f"force-remove: {last_line(result.err)}")
            self.report.figure("scale", "force-remove all", result.seconds, "s")
        print_figures(self.report, "scale")

    def scale_cpu_cgroups(self) -> list[str] | None:
        """The cpuacct cgroups (v1) or cgroups (v2) charged with the CPU a start costs: the
        host runner's own (moor, and what it runs before the monitor leaves), made here and
        removed with the run's other cgroups; and the engine root's parent (the monitors and
        the OCI runtime they run, the containers). None when there is no CPU accounting."""
        pid = self.host.process.pid
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            base = "/sys/fs/cgroup"
        elif os.path.isfile("/sys/fs/cgroup/cpuacct/cpuacct.usage"):
            base = "/sys/fs/cgroup/cpuacct"
        else:
            return None
        runner = os.path.join(base, self.ws.cgroup_name, "scale")
        try:
            os.makedirs(runner, exist_ok=True)
            with open(os.path.join(runner, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            return None
        return [runner, os.path.join(base, moor_cgroup_parent(self.ws.moor_root))]


def cpu_usage_seconds(cgroups: list[str] | None) -> float | None:
    """CPU time charged so far to `cgroups` (each with its descendants)."""
    if not cgroups:
        return None
    total = 0.0
    for path in cgroups:
        if os.path.isfile(os.path.join(path, "cpuacct.usage")):
            total += int(read_text(os.path.join(path, "cpuacct.usage"))) / 1e9
            continue
        if not os.path.isfile(os.path.join(path, "cpu.stat")):
            continue
        for line in read_text(os.path.join(path, "cpu.stat")).splitlines():
            if line.startswith("usage_usec "):
                total += int(line.split()[1]) / 1e6
    return total


def moor_cgroup_parent(root: str) -> str:
    if REPOSITORY not in sys.path:
        sys.path.insert(0, REPOSITORY)
    from runtime.paths import Paths
    return Paths(root).cgroup_parent


def moor_argv(*args: str) -> list[str]:
    if os.access(MOOR, os.X_OK):
        return [MOOR, *args]
    return [sys.executable, "-m", "runtime", *args]


# ------------------------------------------------------------------------- printing

def section_header(name: str, description: str):
    print(f"\n== {name}: {description}", flush=True)


def print_timings(report: Report, section: str):
    rows = [timing for timing in report.timings.values() if timing.section == section]
    if not rows:
        return
    width = max(len(timing.name) for timing in rows)
    print(f"  {'command':<{width}}  {'median':>9}  {'min':>8}  {'max':>8}  runs")
    for timing in rows:
        if timing.samples_ms:
            print(f"  {timing.name:<{width}}  {timing.median:6.1f} ms  "
                  f"{min(timing.samples_ms):8.1f}  {max(timing.samples_ms):8.1f}  "
                  f"{len(timing.samples_ms):4d}")
        else:
            print(f"  {timing.name:<{width}}  {'failed':>9}  {timing.error or ''}")
    print_targets(report, section)


# The rows of the idle section's table: (metric, unit); figures are named "<engine> <metric>".
IDLE_FIGURES = (
    ("started", "containers"),
    ("mean detached start", "ms"),
    ("charged per container", "KiB"),
    ("anon+kernel per container", "KiB"),
    ("anon+kernel, lowest batch", "KiB"),
    ("anon+kernel, highest batch", "KiB"),
    ("monitor PSS per container", "KiB"),
    ("monitor anonymous PSS", "KiB"),
    ("monitor RSS", "KiB"),
    ("sleep PSS per container", "KiB"),
    ("conmon+sleep PSS per container", "KiB"),
    ("force-remove all", "s"),
)


def print_side_by_side(report: Report, section: str, engines, metrics):
    width = max(len(f"{metric} ({unit})") for metric, unit in metrics)
    print(f"  {'':<{width}}" + "".join(f"  {engine:>9}" for engine in engines))
    for metric, unit in metrics:
        cells = []
        for engine in engines:
            value = report.value(f"{engine} {metric}")
            cells.append("n/a" if value is None else
                         f"{value:,}" if isinstance(value, int) else f"{value:,.1f}")
        print(f"  {metric + ' (' + unit + ')':<{width}}" + "".join(f"  {c:>9}" for c in cells))


def print_figures(report: Report, section: str):
    rows = [figure for figure in report.figures.values() if figure.section == section]
    width = max((len(figure.name) for figure in rows), default=0)
    for figure in rows:
        if figure.value is None:
            value = "n/a"
        elif isinstance(figure.value, int):
            value = f"{figure.value:,}"
        else:
            value = f"{figure.value:,.1f}"
        note = f"  ({figure.note})" if figure.note else ""
        print(f"  {figure.name:<{width}}  {value:>9} {figure.unit}{note}")
    print_targets(report, section, only_figures=True)


def print_targets(report: Report, section: str, only_figures: bool = False):
    for target in report.targets:
        if target.section != section:
            continue
        is_figure = target.subject in report.figures
        if is_figure != only_figures:
            continue
        print("  " + describe_target(report, target))


def describe_target(report: Report, target: Target) -> str:
    ratio = report.ratio(target)
    text = f"{target.subject} / {target.anchor} = " + ("n/a" if ratio is None else f"{ratio:.2f}")
    if target.limit is not None:
        verdict = "n/a" if ratio is None else ("met" if ratio <= target.limit else "MISSED")
        text += f"   target <= {target.limit:.2f}: {verdict}"
    if target.note:
        text += f"   ({target.note})"
    return text


def print_summary(report: Report):
    print("\n== targets")
    for target in report.targets:
        if target.limit is not None:
            print("  " + describe_target(report, target))
    for note in report.notes:
        print(f"  note: {note}")
    for failure in report.failures:
        print(f"  failed: {failure}")


def conditions(args) -> dict:
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
            return out.strip().splitlines()[0] if out.strip() else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "loadavg": read_text("/proc/loadavg").split()[:3],
        "cgroup2_shadow_for_crun_and_podman": cgroup2_needs_shadow(),
        "crun": first_line(["crun", "--version"]),
        "runc": first_line(["runc", "--version"]),
        "podman": first_line(["podman", "--version"]),
        "conmon": first_line(["conmon", "--version"]),
        "moor_python": first_line([*MOOR_INTERPRETER, "--version"]),
        "dockerd": first_line([daemons.DOCKERD, "--version"]),
        "quick": args.quick,
    }


def cpu_idle_percent(seconds: float = 2.0) -> float:
    def ticks():
        fields = [int(v) for v in read_text("/proc/stat").splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]
    total0, idle0 = ticks()
    pause(seconds)
    total1, idle1 = ticks()
    return 100.0 * (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(tries: int) -> float:
    """Up to `tries` x 2 s for the CPUs to be at least 80 % idle (other work on this shared
    machine skews single runs; the interleaving takes care of slow drifts)."""
    idle = cpu_idle_percent()
    for _ in range(tries - 1):
        if idle >= 80:
            break
        print(f"  waiting for a quieter machine (cpu idle {idle:.0f} %)", flush=True)
        idle = cpu_idle_percent()
    return idle


# ------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: few runs, 20 containers")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, of {','.join(SECTIONS)} (default all)")
    parser.add_argument("--runs", type=int, default=None,
                        help="startup rounds (default 20, quick 5)")
    parser.add_argument("--containers", type=int, default=None,
                        help="idle containers per engine (default 200, quick 20)")
    parser.add_argument("--scale", type=int, default=None, metavar="N",
                        help="containers the scale section starts (default 1000, quick 100)")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write the results as JSON (default: "
                             "bench/results/engine-<time>.json)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shadow-cgroup2", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    args.sections = sections
    quick = args.quick
    args.runs = args.runs or (5 if quick else 20)
    args.warmups = 1 if quick else 3
    args.containers = args.containers if args.containers is not None else (20 if quick else 200)
    args.scale = args.scale if args.scale is not None else (100 if quick else 1000)
    args.list_runs, args.list_warmups = (3, 1) if quick else (10, 2)
    args.commit_runs = 2 if quick else 5
    args.log_runs = 3 if quick else 10
    args.commit_mb = 100
    args.log_lines = 200_000
    if args.runs < 1 or args.containers < 0 or args.scale < 1:
        parser.error("--runs and --scale must be at least 1, --containers at least 0")
    return args


def work(args) -> int:
    """The benchmark proper (the child of `supervise`)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _request_stop)
    report = Report()
    runners = Runners()
    workspace = None
    status = 0
    try:
        clean_stale_runs(runners, log=lambda text: say(f"  {text}"))
        workspace = Workspace.create()
        runners.account_in(workspace.memory_cgroup)
        print(f"temporary directory {workspace.directory}", flush=True)
        bench = Bench(workspace, runners, report, args)
        bench.setup()
        idle = wait_for_quiet(1 if args.quick else 15)
        found = conditions(args)
        found["cpu_idle_before_percent"] = round(idle, 1)
        print("conditions: " + ", ".join(f"{k}={v}" for k, v in found.items()), flush=True)
        for section in args.sections:
            try:
                getattr(bench, section)()
            except SetupFailed as error:
                report.fail(section, str(error))
        found["loadavg_end"] = read_text("/proc/loadavg").split()[:3]
        print_summary(report)
        write_json(args, report, found)
    except Interrupted as error:
        print(f"\ninterrupted ({error}); cleaning up", flush=True)
        status = 130
    except SetupFailed as error:
        say(f"setup failed: {error}")
        status = 1
    except BrokenPipeError:
        status = 1          # whoever read the output went away; clean up all the same
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if workspace is not None:
            say("cleaning up")
            clean_up(workspace, runners, log=lambda text: say(f"  {text}"))
        runners.close()
    return status


def say(text: str):
    """Print, and never fail: a closed output must not stop the clean-up."""
    try:
        print(text, flush=True)
    except OSError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_json(args, report: Report, found: dict):
    path = args.json or os.path.join(
        REPOSITORY, "bench", "results",
        f"engine-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    document = {
        "conditions": found,
        "timings": [{**dataclasses.asdict(t), "median_ms": t.median}
                    for t in report.timings.values()],
        "figures": [dataclasses.asdict(f) for f in report.figures.values()],
        "targets": [{**dataclasses.asdict(t), "ratio": report.ratio(t)} for t in report.targets],
        "notes": report.notes,
        "failures": report.failures,
    }
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
    print(f"results written to {path}")


def supervise(argv) -> int:
    """Hold the one-run-at-a-time lock, become the subreaper of everything the run starts
    (so orphaned monitors are reaped at once, not by a lazy init), run the benchmark as a
    child in its own session, forward stop signals to it, and at the end end any process of
    the run that is still left, by PID."""
    lock = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another run of this benchmark holds {LOCK}", file=sys.stderr)
        return 1
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    worker = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", *argv],
                              start_new_session=True)
    forwarded = []

    def forward(signum, frame):
        if forwarded:
            print("still cleaning up, please wait", file=sys.stderr, flush=True)
        forwarded.append(signum)
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signum)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    status = 1
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid == worker.pid:
            status = os.waitstatus_to_exitcode(wait_status)
            worker.returncode = status
            break
    deadline = time.monotonic() + 15
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            continue
        if time.monotonic() > deadline:
            for child in children_of(os.getpid()):
                print(f"killing leftover process {child}", file=sys.stderr)
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.1)
    return status


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.serve:
        serve(args.shadow_cgroup2)
        return 0
    if os.geteuid() != 0:
        print("this benchmark needs root (real containers, mounts, cgroups)", file=sys.stderr)
        return 1
    anchored = any(section in ANCHORED for section in args.sections)
    missing = [tool for tool in ("crun", "runc", "podman", "conmon", "unshare", "tar")
               if not shutil.which(tool) and (anchored or tool != "podman")]
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install {' '.join(missing)})",
              file=sys.stderr)
        return 1
    if args.worker:
        return work(args)
    return supervise([a for a in argv if a != "--worker"])


if __name__ == "__main__":
    sys.exit(main())
