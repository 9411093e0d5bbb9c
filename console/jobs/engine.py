"""The console's only door to the engine: one `runtime.api.Engine` per worker process, on the
host root the worker was started with (`MOORAGE_ROOT`). Unit tests replace `get_engine`."""
import functools

from django.conf import settings


@functools.lru_cache(maxsize=1)
def get_engine():
    from runtime.api import Engine

    return Engine(settings.MOORAGE_ROOT or None)


def engine_error_types() -> tuple[type[BaseException], ...]:
    from runtime.errors import MoorError

    return (MoorError,)


def error_message(error: BaseException) -> str:
    """The engine's one-line message, as the user will read it on the job."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def container_diff(engine, ref: str) -> list[dict]:
    """The container's file changes as `[{"kind": "A|C|D", "path": ..., "size": ...}]`."""
    return [{"kind": kind, "path": path, "size": size}
            for kind, path, size in engine.diff(ref)]


def commit_container(engine, ref: str, **options) -> str:
    return engine.commit(ref, **options)
