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
