"""The audit log. `audit.record(...)` is the one call that writes to it (see `record.py`)."""


def record(*args, **kwargs):
    from console.audit.recording import record as write

    return write(*args, **kwargs)
