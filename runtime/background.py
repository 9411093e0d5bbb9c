"""Work a command leaves for after it has answered (a removal's clean-up, say): a process
that runs commands for others, and can answer first, says so with `after_answering()`;
`defer(function, *args)` then queues the work, which that process runs once its caller has
its answer (`run_deferred()`). Elsewhere `defer` returns False and the caller does the work in
a detached process of its own, as the command line does (runtime.container.removal).
"""

import logging

_deferred: list | None = None


def after_answering() -> None:
    """This process answers its caller before it ends: work may be deferred to then."""
    global _deferred
    _deferred = []


def defer(function, *args) -> bool:
    if _deferred is None:
        return False
    _deferred.append((function, args))
    return True


def run_deferred() -> None:
    """The deferred work, in order; a failure is logged and the rest still runs (`system
    gc` finishes what a failed clean-up left)."""
    while _deferred:
        function, args = _deferred.pop(0)
        try:
            function(*args)
        except Exception:
            logging.getLogger(__name__).exception("deferred %s failed",
                                                  getattr(function, "__name__", function))
