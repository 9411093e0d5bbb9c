"""The agent's door to the engine: one `runtime.api.Engine` per process, on the host root the
worker (or bridge) was started with (`MOORAGE_ROOT`), and the few engine calls the jobs make
that are not methods of it. Unit tests replace `get_engine` where it is used.

The engine raises one error type, `MoorError`, whose one-line message is what a failed job
says (`error_message`)."""
import contextlib
import functools

from console.agent import config
from runtime import staging
from runtime.api import Engine
from runtime.image.distribution.policy import AddressPolicy
from runtime.image.layer_unpack import LayerLimits, unpack_layer


@functools.lru_cache(maxsize=1)
def get_engine() -> Engine:
    return Engine(config.engine_root())


def engine_root(engine) -> str:
    """The directory the engine keeps its state in (what a host's rows were made from)."""
    return engine.paths.root


def error_message(error: BaseException) -> str:
    """The engine's one-line message, as the user will read it on the job."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def container_diff(engine, ref: str) -> list[dict]:
    """The container's file changes as `[{"kind": "A|C|D", "path": ..., "size": ...}]`."""
    return [{"kind": kind, "path": path, "size": size}
            for kind, path, size in engine.diff(ref)]


def pull_policy(deny=(), allow=()) -> AddressPolicy:
    """The engine's AddressPolicy for a pull made for a user: the host's own, loopback and
    link-local addresses and its containers' networks refused, `deny` too, `allow` let
    through (`MOORAGE_PULL_DENY`, `MOORAGE_PULL_ALLOW`)."""
    return AddressPolicy(local=True, deny=deny, allow=allow,
                         names=("MOORAGE_PULL_DENY", "MOORAGE_PULL_ALLOW"))


def unpack_context(stream, directory: str, *, max_bytes: int, max_entries: int,
                   max_depth: int) -> None:
    """Unpack an uploaded build context (tar, or tar compressed with gzip, bzip2 or xz) into
    the empty `directory` with the engine's layer unpacker, which opens every path inside the
    directory and never follows a link out of it, and refuses an entry nested more than
    `max_depth` path components deep."""
    unpack_layer(stream, directory, limits=LayerLimits(max_bytes=max_bytes,
                                                       max_entries=max_entries,
                                                       max_depth=max_depth))


@contextlib.contextmanager
def working_directory(engine, prefix: str):
    """A new private directory under the engine's tmp/ (mode 0700; under the engine root only
    root reads), held so that `system gc` leaves it alone while the job works in it, and
    removed afterwards without recursion, however deep what was put in it."""
    engine.paths.ensure()
    with staging.working_dir(engine.paths.tmp, prefix) as path:
        yield path


def untag(engine, reference: str) -> None:
    """Take the tag `reference` off its image (the image stays)."""
    with engine.store.lock():
        engine.store.untag(reference)
