"""What a build stage carries from step to step: its current image and config, the build
arguments in scope, and whether the cache may still be used."""

import dataclasses

from runtime.image.build.instructions import Stage

DEFAULT_SHELL = ("/bin/sh", "-c")
# Build arguments Docker lets through without an ARG, kept out of the cache key.
PREDEFINED_ARGS = frozenset(("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                             "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                             "all_proxy"))


@dataclasses.dataclass
class StageState:
    stage: Stage
    escape: str
    image_id: str | None          # None: FROM scratch and nothing made yet
    config: dict                  # the image config's `config` object
    predefined: dict              # proxy arguments given with --build-arg
    args: dict = dataclasses.field(default_factory=dict)  # ARG name -> value or None
    use_cache: bool = True
    cmd_set: bool = False         # a CMD in this stage (an ENTRYPOINT then keeps it)
    author: str | None = None     # MAINTAINER of this stage: the author of its images

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def substitution_env(self) -> dict:
        """Variables for `$NAME` in instructions: build arguments, overridden by ENV."""
        values = {k: v for k, v in self.args.items() if v is not None}
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            values[key] = value
        return values

    def run_arguments(self) -> tuple[list[str], list[str] | None]:
        """(`K=V` build arguments a RUN container gets, the part of them its cache key
        shows — None when no argument is passed). ENV wins over an ARG of the same name."""
        env_names = {item.partition("=")[0] for item in self.config.get("Env") or []}
        visible = {k: v for k, v in self.predefined.items() if k not in self.args}
        visible.update({k: v for k, v in self.args.items() if v is not None})
        passed = {k: v for k, v in visible.items() if k not in env_names}
        if not passed:
            return [], None
        keyed = sorted(f"{k}={v}" for k, v in passed.items() if k in self.args)
        return [f"{k}={v}" for k, v in passed.items()], keyed

    def nop(self, comment: str) -> str:
        """The history entry of a step that runs nothing: `/bin/sh -c #(nop) <comment>`."""
        return " ".join(self.shell + ["#(nop) " + comment])
