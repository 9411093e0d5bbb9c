"""The build driver: context and Dockerfile in, one image per step, Docker's classic output.

    Step 1/4 : FROM busybox
     ---> 3f57d9401f8d
    Step 2/4 : RUN echo hi
     ---> Running in 8d4c3b1b9f3e
    hi
    Removing intermediate container 8d4c3b1b9f3e
     ---> 4b8a1ad0b8a2
    ...
    Successfully built 4b8a1ad0b8a2
    Successfully tagged app:latest

Everything the Dockerfile can get wrong is found before the first step runs. The build works
in a private staging directory under the engine's tmp/ (the context snapshot, the step mounts),
removed at the end whatever happens; a failed or interrupted build leaves only the images of
the steps that completed, which the next build finds in its cache. What a build killed
outright leaves (its RUN container, its directory) is removed by `system gc` and by the next
build (leftovers.py).
"""

import contextlib
import copy
import os
import platform
import re
import stat

from runtime.container.rootpath import Root
from runtime.errors import InvalidArgument, MoorError, NotFound
from runtime.image import reference
from runtime.image.build import cache, context, instructions, leftovers, metadata, parser, signals
from runtime.image.build.filesystem import StepFileSystem, copy_step, workdir_step
from runtime.image.build.run import RunFailed, run_step
from runtime.image.build.state import PREDEFINED_ARGS, StageState
from runtime.image.build.words import substitute
from runtime.image.store import remove_tree

_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@|github\.com/)")


class BuildError(MoorError):
    """A step that failed; the message says which and why."""


def short(image_id: str | None) -> str:
    return image_id[7:19] if image_id else ""


class Builder:
    def __init__(self, engine, staging: str, context_root: Root, escape: str,
                 build_args: dict, no_cache: bool, write, allowed_images=None,
                 network: str = "none"):
        self.engine = engine
        self.network = network            # RUN containers' network (see run.py)
        # None: every image of the host; else the only images FROM, COPY --from and the cache
        # may use, with those this build makes (`usable`).
        self.allowed_images = None if allowed_images is None else set(allowed_images)
        self.staging = staging
        self.context_root = context_root
        self.escape = escape
        self.build_args = build_args
        self.no_cache = no_cache
        self.write = write
        self.meta_values: dict = {}       # ARGs before the first FROM
        self.consumed: set = set()        # build arguments some ARG declared
        self.stage_images: dict = {}      # stage index -> its last image (None: empty)
        self.stage_names: dict = {}       # stage name -> index, once the stage is built
        self.made_images: set = set()     # the step images this build made
        self.step = 0
        self.total = 0

    # -- the whole build ------------------------------------------------------------------

    def build(self, meta_args, stages) -> str:
        self.total = len(meta_args) + sum(1 + len(stage.commands) for stage in stages)
        for command in meta_args:
            self._announce(command.node)
            env = {k: v for k, v in self.meta_values.items() if v is not None}
            for name, default in command.names:
                value = self._expand(default, env, command.node) if default is not None \
                    else None
                if name in self.build_args:
                    value = self.build_args[name]
                    self.consumed.add(name)
                self.meta_values[name] = value
        state = None
        for stage in stages:
            state = self._from(stage)
            for command in stage.commands:
                self._announce(command.node)
                self.dispatch(state, command)
                self.write(f" ---> {short(state.image_id)}\n")
            self.stage_images[stage.index] = state.image_id
            if stage.name:
                self.stage_names[stage.name] = stage.index
        if state.image_id is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        unused = sorted(set(self.build_args) - self.consumed - PREDEFINED_ARGS)
        if unused:
            self.write(f"[Warning] One or more build-args [{' '.join(unused)}] were not "
                       "consumed\n")
        self.write(f"Successfully built {short(state.image_id)}\n")
        return state.image_id

    def _announce(self, node) -> None:
        self.step += 1
        self.write(f"Step {self.step}/{self.total} : {node.original}\n")

    def _expand(self, word: str, env: dict, node) -> str:
        try:
            return substitute(word, env, self.escape)
        except InvalidArgument as error:
            raise BuildError(f"{error.message} (Dockerfile line {node.line})") from None

    # -- FROM -----------------------------------------------------------------------------

    def _from(self, stage) -> StageState:
        base = stage.base
        self._announce(base.node)
        env = {k: v for k, v in self.meta_values.items() if v is not None}
        name = self._expand(base.image, env, base.node)
        if base.platform is not None:
            self._check_platform(self._expand(base.platform, env, base.node), base.node)
        if name.lower() in self.stage_names:
            image_id = self.stage_images[self.stage_names[name.lower()]]
        elif name == "scratch":
            image_id = None
        else:
            image_id = self._local_image(name, "FROM", base.node.line)
        config = copy.deepcopy(self.engine.store.config(image_id).get("config") or {}) \
            if image_id else {}
        predefined = {k: v for k, v in self.build_args.items()
                      if k in PREDEFINED_ARGS and v is not None}
        state = StageState(stage=stage, escape=self.escape, image_id=image_id, config=config,
                           predefined=predefined, use_cache=not self.no_cache)
        triggers = state.config.pop("OnBuild", None) or []
        if triggers:
            self.write(f"# Executing {len(triggers)} build trigger"
                       f"{'s' if len(triggers) > 1 else ''}\n")
            for text in triggers:
                node = parser.parse_instruction(text, base.node.line)
                self.dispatch(state, instructions.command(node, self.escape))
        self.write(f" ---> {short(state.image_id)}\n")
        return state

    def _check_platform(self, wanted: str, node) -> None:
        from runtime.image.bootstrap import ARCHITECTURES
        host = f"linux/{ARCHITECTURES.get(platform.machine(), platform.machine())}"
        if wanted not in ("linux", host) and not wanted.startswith(host + "/"):
            raise BuildError(f"FROM --platform={parser.shorten(wanted)}: this host builds "
                             f"only {host} images (Dockerfile line {node.line})")

    @property
    def usable(self) -> set | None:
        """The images this build may start from, copy from or take from the cache (None: any):
        those it was allowed, and those it made itself."""
        return None if self.allowed_images is None else self.allowed_images | self.made_images

    def _local_image(self, text: str, what: str, line: int | None = None) -> str:
        """An image the build may use, by name or ID; one it may not use is named as missing,
        in the very words of one that is not there. `line`: the Dockerfile line to name (a
        step's errors get theirs from `dispatch`)."""
        where = f" (Dockerfile line {line})" if line is not None else ""
        try:
            return self.engine.store.resolve(text, among=self.usable)
        except NotFound:
            raise BuildError(f"{what} {parser.shorten(text)}: no such image on this host; "
                             f"pull or build it first{where}") from None
        except InvalidArgument as error:
            raise BuildError(f"{what} {parser.shorten(text)}: "
                             f"{parser.shorten(error.message, 120)}{where}") from None

    # -- steps ----------------------------------------------------------------------------

    def dispatch(self, state: StageState, command) -> None:
        keyword = command.keyword
        try:
            if keyword == "RUN":
                run_step(self, state, command)
            elif keyword in ("COPY", "ADD"):
                copy_step(self, state, command)
            elif keyword == "WORKDIR":
                workdir_step(self, state, command)
            elif keyword == "ARG":
                self._arg(state, command)
            else:
                comment = metadata.APPLY[keyword](state, command)
                self._metadata_step(state, state.nop(comment))
        except RunFailed:
            raise
        except MoorError as error:
            raise BuildError(f"{error.message} (Dockerfile line {command.node.line})") \
                from None
        except OSError as error:
            raise BuildError(f"{keyword} failed: {error.strerror} "
                             f"(Dockerfile line {command.node.line})") from None

    def _arg(self, state: StageState, command) -> None:
        env = state.substitution_env()
        shown = []
        for name, default in command.names:
            value = substitute(default, env, self.escape) if default is not None else None
            shown.append(name if default is None else f"{name}={value}")
            if name in self.build_args:
                value = self.build_args[name]
                self.consumed.add(name)
            elif default is None:
                value = self.meta_values.get(name)
            state.args[name] = value
        self._metadata_step(state, state.nop("ARG " + " ".join(shown)))

    def _metadata_step(self, state: StageState, created_by: str) -> None:
        if self.try_cache(state, created_by):
            return
        with signals.deferred():
            image_id = cache.add_step_image(self.engine.store, state.image_id, state.config,
                                            created_by, author=state.author)
        self.made(state, image_id)

    # -- what the steps call back ---------------------------------------------------------

    def try_cache(self, state: StageState, created_by: str) -> bool:
        """Take the cached image of this step if there is one; a miss ends the cache for
        the rest of the stage."""
        if not state.use_cache:
            return False
        hit = cache.find(self.engine.store, state.image_id, state.config, created_by,
                         among=self.usable)
        if hit is None:
            state.use_cache = False
            return False
        self.write(" ---> Using cache\n")
        state.image_id = hit
        return True

    def made(self, state: StageState, image_id: str) -> None:
        self.made_images.add(image_id)
        state.image_id = image_id

    def commit_files(self, state: StageState, created_by: str, upper: str) -> None:
        with signals.deferred():
            image_id = cache.add_step_image(self.engine.store, state.image_id, state.config,
                                            created_by, layer_dir=upper, author=state.author)
        self.made(state, image_id)

    @contextlib.contextmanager
    def source_root(self, name: str | None, state: StageState):
        """Where COPY reads: the context, or `--from` a stage or an image."""
        if name is None:
            yield self.context_root
            return
        text = substitute(name, state.substitution_env(), self.escape)
        if text.isdigit():
            index = int(text)
            if index >= state.stage.index:
                raise InvalidArgument(f"invalid from flag value {text}: refers to the current "
                                      "or a later build stage")
            image_id = self.stage_images[index]
        elif text.lower() in self.stage_names:
            image_id = self.stage_images[self.stage_names[text.lower()]]
        elif text.lower() == (state.stage.name or ""):
            raise InvalidArgument(f"invalid from flag value {text}: a stage cannot copy "
                                  "from itself")
        else:
            image_id = self._local_image(text, "COPY --from")
        with StepFileSystem(self.engine, self.staging, image_id) as mounted:
            with Root(mounted.merged) as root:
                yield root


# -- the entry point --------------------------------------------------------------------------

def _writer(output):
    if output is None:
        return lambda text: None
    if callable(output):
        return output

    def write(text: str) -> None:
        output.write(text)
        if hasattr(output, "flush"):
            output.flush()
    return write


def _build_args(values) -> dict:
    if not values:
        return {}
    if isinstance(values, dict):
        items = values.items()
    else:
        items = [(item.partition("=")[0], item.partition("=")[2] if "=" in item else None)
                 for item in values]
    result = {}
    for key, value in items:
        if not key or "=" in key:
            raise InvalidArgument(f"invalid build argument {parser.shorten(str(key))!r}: "
                                  "NAME=VALUE expected")
        if value is not None:
            result[key] = str(value)
    return result


def _context_directory(path: str) -> str:
    if not path:
        raise InvalidArgument("a build context directory is required")
    if _REMOTE.match(path):
        raise InvalidArgument(f"build contexts from URLs and git repositories are not "
                              f"supported ({parser.shorten(path)}): give a local directory")
    if path == "-":
        raise InvalidArgument("a build context from standard input is not supported: give a "
                              "directory")
    absolute = os.path.abspath(path)
    if not os.path.isdir(absolute):
        raise NotFound(f"unable to prepare context: path {parser.shorten(path)!r} not found")
    return absolute


def _read_dockerfile(context_dir: str, dockerfile: str | None) -> str:
    """The Dockerfile's text. A relative name is looked up inside the context (symlinks
    resolved inside it); an absolute path is read as it is."""
    name = dockerfile or "Dockerfile"
    candidates = [name] if dockerfile else ["Dockerfile", "dockerfile"]
    data = None
    with Root(context_dir) as root:
        for candidate in candidates:
            try:
                fd = os.open(candidate, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK) \
                    if os.path.isabs(candidate) else \
                    root.open(candidate, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    data = os.read(fd, parser.MAX_DOCKERFILE + 1)
                    while len(data) <= parser.MAX_DOCKERFILE:
                        more = os.read(fd, parser.MAX_DOCKERFILE + 1 - len(data))
                        if not more:
                            break
                        data += more
            finally:
                os.close(fd)
            if data is not None:
                break
    if data is None:
        raise NotFound(f"Cannot locate specified Dockerfile: {parser.shorten(name)}")
    if len(data) > parser.MAX_DOCKERFILE:
        raise InvalidArgument(f"the Dockerfile is larger than "
                              f"{parser.MAX_DOCKERFILE >> 20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise InvalidArgument(f"the Dockerfile is not UTF-8 text (line {line})") from None


def _up_to_target(stages, target: str | None):
    if not target:
        return stages
    for stage in stages:
        if stage.name == target.lower():
            return stages[:stage.index + 1]
    raise InvalidArgument(f"failed to reach build target {parser.shorten(target)} in "
                          "Dockerfile")


def build(engine, context_dir: str, dockerfile: str | None = None, tags=(),
          build_args=None, no_cache: bool = False, target: str | None = None,
          output=None, allowed_images=None, network: str = "none") -> str:
    """Build the Dockerfile in `context_dir`; tag the image with `tags`; return its ID.
    `output` (a callable or a file with `write`) receives Docker's build output.
    `allowed_images` (image IDs), when given, are the only images of the host the build may
    use: as a base (FROM), to copy from (COPY --from) and from the cache; any other is
    treated as absent, whatever a build argument computes. A base image is never pulled.
    `network` is where RUN steps run: "none" (no network), "bridge", "host" or a network's
    name, as `moor run --network`."""
    write = _writer(output)
    names = [str(reference.parse(tag)) for tag in tags or ()]
    arguments = _build_args(build_args)
    context_dir = _context_directory(context_dir)
    dockerfile = parser.parse(_read_dockerfile(context_dir, dockerfile))
    meta_args, stages = instructions.stages(dockerfile.instructions, dockerfile.escape)
    stages = _up_to_target(stages, target)
    engine.paths.ensure()
    leftovers.remove_dead_builds(engine)
    from runtime import staging as working
    staging = working.make_dir(engine.paths.tmp, leftovers.PREFIX)
    held = working.hold(staging)  # `system gc` leaves a build's directory and mounts alone
    try:
        leftovers.prepare(staging)
        snapshot = os.path.join(staging, "context")
        os.mkdir(snapshot, 0o700)
        try:
            context.snapshot(context_dir, snapshot, context.IgnoreRules.read(context_dir))
        except OSError as error:
            raise MoorError(f"cannot read the build context: {error.filename or context_dir}:"
                            f" {error.strerror}") from None
        with Root(snapshot) as context_root:
            builder = Builder(engine, staging, context_root, dockerfile.escape, arguments,
                              no_cache, write, allowed_images, network)
            image_id = builder.build(meta_args, stages)
    finally:
        with signals.deferred():
            remove_tree(staging)
            os.close(held)
    with engine.store.lock():
        for name in names:
            engine.store.tag(image_id, name)
    from runtime import events
    labels = events.image_labels(engine.store, image_id)
    for name in names:
        events.image(engine, "tag", image_id, name, labels)
        write(f"Successfully tagged {name}\n")
    return image_id
