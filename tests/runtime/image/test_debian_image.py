"""`moor image bootstrap debian`: a real Debian image made by mmdebstrap, then `apt-get
install` in a build FROM it, offline from any registry and any mirror: the packages come from
the repository `./moorage install` cached, served by a container of the test
(debian_fixture.py). The image is made once for the module, with python3 included.
"""

import os
import re
import tempfile
import urllib.request

import pytest

from runtime.api import Engine
from runtime.errors import NotFound
from runtime.network import hostfiles
from tests.runtime.conftest import destroy_root
from tests.runtime.debian_fixture import AptRepository
from tests.stack import free_port, wait_until

pytestmark = pytest.mark.privileged

EPOCH = 1_700_000_000   # SOURCE_DATE_EPOCH of the module's image: 2023-11-14T22:13:20Z


@pytest.fixture(scope="module")
def engine_root():
    """A root of this module's own: its image, its repository container and its builds go
    with it at the end."""
    root = tempfile.mkdtemp(prefix="moorage-test-debian-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield root
    destroy_root(engine)


@pytest.fixture(scope="module")
def repository(engine_root):
    served = AptRepository(Engine(engine_root)).start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def debian_image(engine_root, repository):
    """debian:<suite> with python3, made through the engine API as the console will."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
    try:
        image_id = Engine(engine_root).bootstrap_debian(include=["python3"],
                                                        **repository.bootstrap_options())
    finally:
        if saved is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved
    return image_id


def layer_file(engine, image_id: str, path: str) -> str:
    return os.path.join(engine.store.layer_diff(engine.store.layers(image_id)[0]), path)


def test_bootstrap_makes_a_debian_image_that_runs(engine, moor, repository, debian_image):
    assert engine.image_id(f"debian:{repository.suite}") == debian_image
    version = moor("run", "--rm", f"debian:{repository.suite}", "cat", "/etc/debian_version",
                   check=True).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+", version)
    listing = moor("run", "--rm", f"debian:{repository.suite}", "dpkg", "-l",
                   check=True).stdout
    installed = {line.split()[1].split(":")[0] for line in listing.splitlines()
                 if line.startswith("ii ")}
    assert {"bash", "apt", "dpkg", "base-files", "usr-is-merged"} <= installed
    # merged /usr as Docker's debian images have it, without usrmerge and perl behind it
    assert not {"usrmerge", "perl"} & installed

    config = engine.store.config(debian_image)
    assert config["config"]["Cmd"] == ["bash"]
    assert config["config"]["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == version
    assert labels["org.opencontainers.image.source"] == repository.url
    assert labels["org.opencontainers.image.ref.name"] == f"debian:{repository.suite}"
    assert config["created"].startswith("2023-11-14T22:13:20")
    (history,) = config["history"]
    assert history["created_by"] == (f"moor image bootstrap debian --suite "
                                     f"{repository.suite} --variant minbase --include python3")
    assert f"Debian {version} ({repository.suite}) from {repository.url}" in history["comment"]
    assert re.search(r" python3=\S+", history["comment"])


def test_include_adds_packages_and_python3_serves_a_tiny_app(engine, repository,
                                                             debian_image):
    app = ("import http.server, sys\n"
           "class Hello(http.server.BaseHTTPRequestHandler):\n"
           "    def do_GET(self):\n"
           "        body = f'hello from python {sys.version_info[0]}'.encode()\n"
           "        self.send_response(200)\n"
           "        self.send_header('Content-Length', str(len(body)))\n"
           "        self.end_headers()\n"
           "        self.wfile.write(body)\n"
           "http.server.HTTPServer(('', 8000), Hello).serve_forever()\n")
    port = free_port()
    engine.run({"image": f"debian:{repository.suite}", "cmd": ["python3", "-c", app],
                "ports": [f"127.0.0.1:{port}:8000"]})

    def answer():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.read().decode()
    assert wait_until(answer, what="the python3 app") == "hello from python 3"


def test_image_is_slim_and_keeps_the_sources_and_their_keyring(engine, repository,
                                                              debian_image):
    def inside(path):
        return layer_file(engine, debian_image, path)
    with open(inside("etc/apt/sources.list.d/debian.sources")) as file:
        sources = file.read()
    assert sources == (f"Types: deb\nURIs: {repository.url}\nSuites: {repository.suite}\n"
                       "Components: main\n"
                       "Signed-By: /etc/apt/keyrings/moorage-test-packages.gpg\n")
    with open(inside("etc/apt/keyrings/moorage-test-packages.gpg"), "rb") as copied, \
            open(repository.keyring, "rb") as original:
        assert copied.read() == original.read()
    assert not os.path.exists(inside("etc/apt/sources.list"))
    # the engine writes these for each container
    assert not os.path.lexists(inside("etc/resolv.conf"))
    assert not os.path.lexists(inside("etc/hostname"))
    # no package lists, caches, documentation (but the copyrights), manual pages, locales
    assert sorted(os.listdir(inside("var/lib/apt/lists"))) in ([], ["lock"], ["lock",
                                                                              "partial"])
    assert not [name for name in os.listdir(inside("var/cache/apt")) if name.endswith(".bin")]
    assert not os.listdir(inside("var/cache/apt/archives")) or set(
        os.listdir(inside("var/cache/apt/archives"))) <= {"lock", "partial"}
    documents = [os.path.relpath(os.path.join(directory, name), inside("usr/share/doc"))
                 for directory, _, names in os.walk(inside("usr/share/doc")) for name in names]
    assert documents and all(name.endswith("/copyright") for name in documents)
    for directory in ("usr/share/man", "usr/share/info", "usr/share/locale"):
        assert not [name for _, _, names in os.walk(inside(directory)) for name in names
                    if name != "locale.alias"], directory
    with open(inside("etc/dpkg/dpkg.cfg.d/90container-image")) as file:
        assert "path-exclude=/usr/share/doc/*\n" in file.read()
    # reproducible: mmdebstrap clamps every time to SOURCE_DATE_EPOCH
    assert os.lstat(inside("etc/debian_version")).st_mtime <= EPOCH


def test_dockerfile_apt_get_install_nginx_on_the_default_bridge(engine, moor, repository,
                                                                debian_image, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        f"FROM debian:{repository.suite}\n"
        "RUN cat /etc/resolv.conf\n"
        "RUN apt-get update && apt-get install -y nginx\n"
        'CMD ["nginx", "-g", "daemon off;"]\n')
    built = moor("build", "-t", "web:nginx", str(tmp_path), timeout=240)
    try:
        assert built.returncode == 0, built.stdout + built.stderr
        # the RUN containers' name servers: the host's, as for any container
        for line in hostfiles.resolv_conf_text().splitlines():
            if line.startswith("nameserver"):
                assert line in built.stdout
        # apt fetched from the test's repository, and checked it with the copied keyring
        assert re.search(rf"Get:\d+ {re.escape(repository.url.rstrip('/'))}/? "
                         rf"{repository.suite} InRelease", built.stdout)
        assert "nginx" in built.stdout and "Setting up nginx " in built.stdout
        version = moor("run", "--rm", "web:nginx", "nginx", "-v", check=True)
        assert version.stderr.startswith("nginx version: nginx/")
    finally:
        moor("rmi", "web:nginx")


def test_unknown_suite_is_one_line_and_leaves_nothing(engine, moor, repository, leftovers):
    images = engine.images(all=True)
    failed = moor("image", "bootstrap", "debian", *repository.bootstrap_flags(),
                  "--suite", "nosuch")
    assert failed.returncode == 1
    assert failed.stderr == (f"Error: cannot bootstrap debian:nosuch: unknown suite nosuch: "
                             f"{repository.url.rstrip('/')} has no Release file for it\n")
    assert engine.images(all=True) == images
    assert leftovers() == []


def test_unknown_package_is_one_line_and_leaves_nothing(engine, moor, repository, leftovers):
    images = engine.images(all=True)
    failed = moor("image", "bootstrap", "debian", *repository.bootstrap_flags(),
                  "--include", "python3,no-such-package", "-t", "broken:1", timeout=240)
    assert failed.returncode == 1
    assert failed.stderr == ("Error: cannot bootstrap broken:1: unknown package "
                             f"no-such-package: it is not in {repository.suite} of the apt "
                             "sources\n")
    assert engine.images(all=True) == images
    assert leftovers() == []


def test_bad_arguments_are_refused_before_anything_runs(moor, leftovers):
    for flags, message in (
            (["--suite", "../x"], "invalid suite '../x'"),
            (["--include=-oAPT::x=1"], "invalid package name '-oAPT::x=1'"),
            (["--variant", "extract"], "invalid variant 'extract'"),
            (["--keyring", "/etc/hostname"], "--keyring checks the --mirror"),
            (["--mirror", "ftp://x/"], "invalid mirror 'ftp://x/'"),
            (["--source", "deb-src http://x/ y main"], "invalid source"),
            (["-t", "Bad:Name"], "invalid reference format"),
    ):
        failed = moor("image", "bootstrap", "debian", *flags)
        assert failed.returncode == 1 and message in failed.stderr, (flags, failed.stderr)
        assert failed.stderr.count("\n") == 1
    assert moor("image", "bootstrap", "busybox", "--include", "x").stderr == \
        "Error: --include is for moor image bootstrap debian\n"
    assert leftovers() == []


def test_missing_mmdebstrap_is_a_clear_error(engine, repository, monkeypatch, leftovers):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NotFound, match=r"^mmdebstrap not found: install Debian's mmdebstrap "):
        engine.bootstrap_debian(**repository.bootstrap_options())
    monkeypatch.undo()   # (the check below runs `ip`)
    assert leftovers() == []
