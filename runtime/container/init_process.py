"""`--init` (Docker's `run --init`, Compose's `init: true`): a tiny init as the container's
PID 1 that runs the program as its child, passes signals on to it and reaps every orphan
that ends, so a program that was never written to be PID 1 (which the kernel spares from
signals it does not handle, and whose orphans would stay zombies) behaves as it does on a
host.

The init is Debian's tini in its static build (package tini: `tini-static`, which docker.io
also ships as `docker-init`), so it runs in any image, busybox's included. It is bound
read-only into the container's /dev (the runtime's tmpfs, so nothing is added to the
container's layers, its `diff` or a `commit`) and the process becomes `/dev/init -- PROGRAM
ARGS...`. The image and the container's `Config` are untouched: `inspect` shows the
program as `Path`/`Args` and `HostConfig.Init: true`.
"""

import os

from runtime.errors import InvalidArgument

DESTINATION = "/dev/init"
# Static builds only: the program runs inside images that may have no C library.
CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/podman/catatonit")


def binary() -> str:
    """The host's static init program."""
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return os.path.realpath(path)
    raise InvalidArgument("--init needs a static init program: install Debian's tini "
                          "package (tini-static)")


def wrap(argv: list[str]) -> list[str]:
    return [DESTINATION, "--", *argv]


def mount(source: str) -> dict:
    return {"destination": DESTINATION, "type": "bind", "source": source,
            "options": ["rbind", "ro", "nosuid", "nodev"]}
