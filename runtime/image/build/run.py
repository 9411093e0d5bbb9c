"""RUN: a container from the current image runs the command to its end; its changes become
the step's layer.

The container is an ordinary engine container (Engine.run): the stage's environment, user and
working directory, the build arguments in its environment, the build's network (none unless
the caller names one: `moor build` uses the default bridge, as Docker's), the same isolation
as any container. Its output is streamed as it is written. A non-zero exit fails the build. The
container is committed with the stage's config (not the RUN command or the build arguments)
and removed, also when the build fails or is interrupted; its ID is recorded in the build's
directory before it is made, so that a build killed outright leaves it to `system gc` and the
next build (leftovers.py).
"""

import hashlib
import os
import tempfile

from runtime.errors import MoorError
from runtime.image import commit
from runtime.image.build import leftovers, signals
from runtime.image.build.metadata import command_argv


class RunFailed(MoorError):
    """A RUN command that could not start or exited with a non-zero status."""


def _script_file(builder, name: str, text: str) -> str:
    """A here-document script in the build's directory, executable, for its RUN to mount
    read-only at /dev/pipes/NAME (outside the layer it makes)."""
    directory = tempfile.mkdtemp(prefix="heredoc-", dir=builder.staging)
    path = os.path.join(directory, "script")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def created_by(argv: list[str], keyed_arguments: list[str] | None) -> str:
    """The history entry: the command, prefixed `|<n> K=V ...` with the build arguments it
    sees (the classic builder's cache key)."""
    if keyed_arguments is None:
        return " ".join(argv)
    return " ".join([f"|{len(keyed_arguments)}", *keyed_arguments, *argv])


def run_step(builder, state, command) -> None:
    argv = command_argv(state, command)
    arguments, keyed = state.run_arguments()
    history = created_by(argv, keyed)
    script = getattr(command, "script", None)
    if script:
        # The script is not in the command line: its text keys the cache.
        name, text = script
        history += f" # {name} sha256:{hashlib.sha256(text.encode()).hexdigest()}"
    if builder.try_cache(state, history):
        return
    if state.image_id is None:
        raise RunFailed(f"The command '{' '.join(argv)}' cannot run: the stage starts FROM "
                        "scratch and has no file system to run it in")
    engine = builder.engine
    # Recorded in the build's directory before it exists: a build killed now leaves nothing
    # that `system gc` or the next build cannot find (leftovers.py).
    container_id = leftovers.new_container(builder.staging)
    options = {"id": container_id, "image": state.image_id, "cmd": argv, "entrypoint": [],
               "env": arguments, "network": builder.network,
               "healthcheck": {"Test": ["NONE"]}}
    if script:
        options["binds"] = [f"{_script_file(builder, *script)}:/dev/pipes/{script[0]}:ro"]
    created = False
    try:
        try:
            engine.run(options)
            created = True
        except MoorError as error:
            raise RunFailed(f"The command '{' '.join(argv)}' could not start: "
                            f"{error.message}") from None
        builder.write(f" ---> Running in {container_id[:12]}\n")
        for record in engine.logs(container_id, follow=True):
            builder.write(record.data.decode("utf-8", "replace"))
        code = engine.wait(container_id)
        if code != 0:
            raise RunFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}")
        with signals.deferred():
            image_id = commit.commit(engine, engine.container(container_id), pause=False,
                                     config=state.config, created_by=history,
                                     author=state.author, origin="build")
    finally:
        with signals.deferred():
            try:
                if created:
                    engine.remove(container_id, force=True, volumes=True)
                leftovers.forget_container(builder.staging, container_id)
            except MoorError as error:
                builder.write(f"Error removing intermediate container "
                              f"{container_id[:12]}: {error.message}\n")
    builder.write(f"Removing intermediate container {container_id[:12]}\n")
    builder.made(state, image_id)
