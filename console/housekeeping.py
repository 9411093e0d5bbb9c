"""The web process's bookkeeping, in a background thread of its own, so that no request does
it on the side (a GET changes nothing):

- jobs that can never finish are failed (`jobs.reaper.reap_stale`: their host stopped
  answering, or nobody took them in time) — host workers do this too, but a single-host
  console whose only worker is gone has nobody else;
- terminal sessions nobody resumed in time are ended and audited
  (`streams.terminal_sessions.finish_stale`);
- build contexts whose job is over (a build that never ran) are deleted;
- container and stack grants that have ended are taken away and audited, and their holders' sockets
  told (a terminal a grant opened closes with 4403): a round comes early when a grant is
  about to end (`grants.actions.expire_grants`).

`console.asgi` starts it on the first HTTP request a daphne process serves, once per process,
every HOUSEKEEPING_SECONDS (0 turns it off). Several web processes each run it: every step is
a conditional update, done once whoever comes first. The thread opens its own database
connection each round and closes it after.
"""
import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)
_lock = threading.Lock()
_thread = None
_stop = threading.Event()


def run_once() -> dict:
    """One round; what it changed, by kind."""
    from console.grants.actions import expire_grants
    from console.images.models import BuildContext
    from console.jobs.models import Job
    from console.jobs.reaper import reap_stale
    from console.streams.terminal_sessions import finish_stale

    contexts, _ = BuildContext.objects.filter(job__state__in=Job.FINAL_STATES).delete()
    return {"jobs": reap_stale(), "sessions": finish_stale(), "contexts": contexts,
            "grants": expire_grants()}


def next_round_in(every: float) -> float:
    """Seconds until the next round: `every`, or less when a grant ends sooner."""
    from console.grants.actions import seconds_to_next_expiry

    upcoming = seconds_to_next_expiry()
    return every if upcoming is None else min(every, max(upcoming, 0.2))


def loop(every: float, stop: threading.Event) -> None:
    while True:
        wait = every
        try:
            close_old_connections()
            done = run_once()
            if any(done.values()):
                log.info("housekeeping: %s", done)
            wait = next_round_in(every)
        except Exception:   # the next round tries again
            log.exception("housekeeping failed")
        finally:
            connection.close()
        if stop.wait(wait):
            return


def start() -> bool:
    """Start the loop in this process, unless it runs already or is turned off."""
    global _thread
    every = settings.HOUSEKEEPING_SECONDS
    if every <= 0:
        return False
    with _lock:
        if _thread is not None and _thread.is_alive():
            return False
        _stop.clear()
        _thread = threading.Thread(target=loop, args=(every, _stop), daemon=True,
                                   name="moorage-housekeeping")
        _thread.start()
    return True


def stop(timeout: float = 5.0) -> None:
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is not None:
        _stop.set()
        thread.join(timeout)


class StartOnFirstRequest:
    """An ASGI wrapper around the HTTP application: the first request a process serves starts
    the loop. (Daphne runs no ASGI lifespan events, and importing `console.asgi` — tests do —
    must not start anything.)"""

    def __init__(self, inner):
        self.inner = inner
        self.started = False

    async def __call__(self, scope, receive, send):
        if not self.started:
            self.started = True
            start()
        return await self.inner(scope, receive, send)
