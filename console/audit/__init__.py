"""The audit log. `audit.record(...)` is the one call that writes to it (see `recording.py`);
`audit.record_unseen(...)` writes the refusal of something the requester may not see."""


def record(*args, **kwargs):
    from console.audit.recording import record as write

    return write(*args, **kwargs)


def record_unseen(*args, **kwargs):
    from console.audit.recording import record_unseen as write

    return write(*args, **kwargs)
