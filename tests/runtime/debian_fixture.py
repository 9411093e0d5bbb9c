"""The Debian packages the tests put in images, served by the tests themselves.

`./moorage install` (and so `./moorage test`) fetches them once from the host's apt sources
into a signed apt repository, `MOORAGE_APT_CACHE` (/var/cache/moorage/apt): `pool/`,
`dists/<suite>/`, and the public key `moorage-test-packages.gpg`. That is the only step that
reaches a mirror. A test serves the repository from a busybox `httpd` container on the
engine's default bridge (the repository mounted read-only), so `moor image bootstrap debian
--mirror http://<its address>/ --keyring ...` on the host and `apt-get` in the builds' RUN
containers talk only to a network namespace the test made.
"""

import os
import socket

import pytest

from tests.stack import wait_until

CACHE = os.environ.get("MOORAGE_APT_CACHE", "/var/cache/moorage/apt")
KEYRING = os.path.join(CACHE, "moorage-test-packages.gpg")


def _is_debian() -> bool:
    from runtime.image.debian import os_release
    return os_release().get("ID") == "debian"


def cached_suite() -> str:
    """The suite of the cached repository; the tests stop here when there is none."""
    dists = os.path.join(CACHE, "dists")
    suites = sorted(os.listdir(dists)) if os.path.isdir(dists) else []
    if not suites or not os.path.isfile(KEYRING):
        if not _is_debian():
            pytest.skip("the Debian image tests need a Debian host (its apt sources)")
        pytest.fail(f"no Debian package repository in {CACHE}: run ./moorage install, which "
                    "fetches the tests' packages once")
    return suites[0]


class AptRepository:
    """The cached repository served over HTTP from a container of `engine`."""

    def __init__(self, engine):
        self.engine = engine
        self.suite = cached_suite()
        self.keyring = KEYRING
        self.container_id = None
        self.address = None

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    def start(self) -> "AptRepository":
        self.container_id = self.engine.run({
            "image": "busybox", "name": "apt-repository",
            "cmd": ["httpd", "-f", "-p", "80", "-h", "/srv"],
            "binds": [f"{CACHE}:/srv:ro"]})
        networks = self.engine.inspect(self.container_id)["NetworkSettings"]["Networks"]
        self.address = next(iter(networks.values()))["IPAddress"]
        wait_until(lambda: socket.create_connection((self.address, 80), timeout=1).close()
                   or True, what="the apt repository's httpd")
        return self

    def stop(self) -> None:
        if self.container_id:
            self.engine.remove(self.container_id, force=True)
            self.container_id = None

    def bootstrap_options(self) -> dict:
        """Engine.bootstrap_debian's arguments that take the packages from here."""
        return {"suite": self.suite, "mirror": self.url, "keyring": self.keyring}

    def bootstrap_flags(self) -> list[str]:
        """The same for `moor image bootstrap debian`."""
        return ["--suite", self.suite, "--mirror", self.url, "--keyring", self.keyring]
