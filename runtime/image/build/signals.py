"""Clean-up that Ctrl-C must not cut in half."""

import contextlib
import signal

_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def deferred():
    """Hold SIGINT/SIGTERM/SIGHUP until the block is done (removing a container, unmounting,
    writing a layer): the interrupt then arrives, and nothing is left half done."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
