"""What makes a Celery worker a host's: on start it says hello to the console (the jobs a dead
predecessor left running fail there), lets the engine settle its containers (after a reboot:
restart policies), reports the host's containers and images, then a heartbeat thread keeps
the host online (with its capacity) and asks for a periodic sync on its own queue. Nothing
here kills or touches containers: they belong to their monitors, and outlive any worker.

When the console refuses the host's key (revoked), the worker stops: it would be refused
everything, and a revoked host must not keep acting on its own.
"""
import logging
import os
import shutil
import signal
import socket
import threading
import time
from importlib.metadata import version

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from console.agent import config, console_api
from console.agent.console_api import ConsoleRefused, Revoked, Unreachable
from console.agent.engine import engine_root, get_engine

log = logging.getLogger(__name__)
_stop = threading.Event()


def worker_identity() -> str:
    """`<host name>@<machine>:<pid of the worker's main process>`: a restarted worker is a new
    identity, which is how the console tells its own jobs from a dead predecessor's."""
    main_pid = os.getppid() if os.environ.get("MOORAGE_WORKER_CHILD") else os.getpid()
    return f"{config.current().host}@{socket.gethostname()}:{main_pid}"


@worker_process_init.connect
def mark_pool_process(**kwargs):
    os.environ["MOORAGE_WORKER_CHILD"] = "1"


def stop_the_worker(reason: str) -> None:
    """Warm shutdown of this worker (its main process), saying why."""
    log.error("%s: the host's worker stops", reason)
    _stop.set()
    os.kill(os.getpid(), signal.SIGTERM)


@worker_ready.connect
def become_host(sender=None, **kwargs):
    from console.agent.sync import sync_host

    identity, api = worker_identity(), console_api.get_api()
    try:
        settings = api.hello(identity)
    except Revoked as refusal:
        stop_the_worker(f"the console refused the host's key ({refusal.detail})")
        return
    except (ConsoleRefused, Unreachable) as error:
        log.error("the console did not greet this worker (%s): retrying with the heartbeat",
                  error)
        settings = {}
    if settings.get("reaped"):
        log.warning("the console failed %d job(s) left running by the previous worker",
                    settings["reaped"])
    # Report the host's truth before calling it online, so nobody is refused an image the
    # host has but the console has not heard of yet.
    try:
        engine = get_engine()
        # The engine's own recovery first: record what ended while no one watched, clean up,
        # and after a reboot start the containers whose restart policy asks for it.
        for line in engine.boot():
            log.info("%s", line)
        sync_host(api, engine)
    except Revoked as refusal:
        stop_the_worker(f"the console refused the host's key ({refusal.detail})")
        return
    except Exception:
        log.exception("first sync failed")
    beat(api, identity)
    thread = threading.Thread(target=heartbeat_loop, name="moorage-heartbeat", daemon=True,
                              args=(identity, float(settings.get("heartbeat_seconds") or 5),
                                    float(settings.get("sync_seconds") or 15)))
    thread.start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs):
    _stop.set()


def host_facts() -> dict:
    engine = get_engine()
    facts = {"kernel_version": os.uname().release, "cpus": os.cpu_count() or 0,
             "engine_root": engine_root(engine)}
    facts.update(memory_facts())
    try:
        facts["runtime_version"] = f"moorage {version('moorage')}"
    except Exception:
        facts["runtime_version"] = "moorage"
    return facts


def capacity() -> dict:
    """What the host has free now: memory (MemAvailable) and the engine root's disk."""
    free = {key: value for key, value in memory_facts().items() if key == "memory_available"}
    try:
        free["disk_available"] = shutil.disk_usage(engine_root(get_engine())).free
    except OSError:
        pass
    return free


MEMINFO_FACTS = {"MemTotal:": "memory", "MemAvailable:": "memory_available"}


def memory_facts(path: str = "/proc/meminfo") -> dict:
    """The host's memory (MemTotal) and what the kernel could give now without swapping
    (MemAvailable: free memory plus the caches it can drop), in bytes. Placement
    (`console.hosts.placement`) starts from the latter."""
    facts = {}
    try:
        with open(path) as meminfo:
            for line in meminfo:
                key = MEMINFO_FACTS.get(line.split(None, 1)[0] if line.strip() else "")
                if key:
                    facts[key] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return facts


def beat(api, identity: str) -> None:
    try:
        api.heartbeat(identity, host_facts(), capacity())
    except Revoked as refusal:
        stop_the_worker(f"the console refused the host's key ({refusal.detail})")
    except (ConsoleRefused, Unreachable) as error:
        log.warning("heartbeat failed: %s", error)


def heartbeat_loop(identity: str, every: float, sync_every: float) -> None:
    from console.agent.queue import app
    from console.jobs import wire

    api, host = console_api.get_api(), config.current()
    last_sync = time.monotonic()
    while not _stop.wait(every):
        beat(api, identity)
        if time.monotonic() - last_sync >= sync_every:
            try:
                app.send_task(wire.SYNC_TASK, args=[host.host], queue=host.queue)
            except Exception as error:      # Redis away: the next period asks again
                log.warning("could not ask for a sync: %s", error)
            last_sync = time.monotonic()
