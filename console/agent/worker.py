"""What makes a Celery worker a host: on start it registers its host (by `MOORAGE_HOST`),
fails the jobs a dead predecessor left running, lets the engine settle its containers (after a
reboot: restart policies), then a heartbeat thread keeps the host online,
asks for a periodic sync and runs the reaper. Nothing here kills or touches containers: they
belong to their monitors, and outlive any worker.
"""
import logging
import os
import socket
import threading
import time
from importlib.metadata import version

from celery.signals import worker_process_init, worker_ready, worker_shutdown
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from console.agent.engine import engine_root, get_engine
from console.agent.reconcile import mark_seen, sync_host
from console.hosts.models import Host, validate_host_name
from console.jobs import dispatch, reaper
from console.jobs.models import Job

log = logging.getLogger(__name__)
_stop = threading.Event()


def worker_identity() -> str:
    """`<host name>@<machine>:<pid of the worker's main process>`: a restarted worker is a new
    identity, which is how the reaper tells its own jobs from a dead predecessor's."""
    main_pid = os.getppid() if os.environ.get("MOORAGE_WORKER_CHILD") else os.getpid()
    return f"{settings.MOORAGE_HOST or '?'}@{socket.gethostname()}:{main_pid}"


def reap_after_restart(host: Host, worker: str) -> int:
    """At worker start-up: this host's running jobs belong to a worker that is gone."""
    return reaper.fail(Job.objects.filter(host=host, state=Job.State.RUNNING)
                       .exclude(worker=worker),
                       "the host's worker stopped while running the job (it was restarted)")


@worker_process_init.connect
def mark_pool_process(**kwargs):
    os.environ["MOORAGE_WORKER_CHILD"] = "1"


@worker_ready.connect
def become_host(sender=None, **kwargs):
    if not settings.MOORAGE_HOST:
        log.warning("MOORAGE_HOST is not set: this worker serves no host")
        return
    try:
        validate_host_name(settings.MOORAGE_HOST)
    except ValidationError as error:
        log.error("MOORAGE_HOST=%r: %s This worker serves no host.", settings.MOORAGE_HOST,
                  error.messages[0])
        return
    identity = worker_identity()
    host, _ = Host.objects.get_or_create(name=settings.MOORAGE_HOST)
    reaped = reap_after_restart(host, identity)
    if reaped:
        log.warning("failed %d job(s) left running by the previous worker of %s", reaped, host)
    # Report the host's truth before calling it online, so nobody is refused an image the
    # host has but the database has not heard of yet.
    try:
        engine = get_engine()
        # The engine's own recovery first: record what ended while no one watched, clean up,
        # and after a reboot start the containers whose restart policy asks for it.
        for line in engine.boot():
            log.info("%s: %s", host, line)
        sync_host(host, engine)
    except Exception:
        log.exception("first sync of %s failed", host)
    beat(host, identity)
    connection.close()
    thread = threading.Thread(target=heartbeat_loop, args=(host.name, identity),
                              name="moorage-heartbeat", daemon=True)
    thread.start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs):
    _stop.set()


def host_facts() -> dict:
    facts = {"kernel_version": os.uname().release, "cpus": os.cpu_count() or 0,
             "engine_root": engine_root(get_engine())}
    facts.update(memory_facts())
    try:
        facts["runtime_version"] = f"moorage {version('moorage')}"
    except Exception:
        facts["runtime_version"] = "moorage"
    return facts


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


def beat(host, identity: str) -> None:
    mark_seen(host, worker=identity, facts=host_facts())


def heartbeat_loop(host_name: str, identity: str) -> None:
    last_sync = 0.0
    while not _stop.wait(settings.HOST_HEARTBEAT_SECONDS):
        try:
            close_old_connections()
            host = Host.objects.get(name=host_name)
            beat(host, identity)
            reaper.reap_stale()
            if time.monotonic() - last_sync >= settings.HOST_SYNC_SECONDS:
                dispatch.request_sync(host)
                last_sync = time.monotonic()
        except Exception:
            log.exception("heartbeat of %s failed", host_name)
        finally:
            connection.close()
