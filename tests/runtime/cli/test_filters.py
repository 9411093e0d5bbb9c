"""`images --filter` and `ps --filter` (with -n, -l, -s) through the real `moor` command, on
real images and containers, against what Docker's reference says each filter selects."""

import pytest

pytestmark = pytest.mark.privileged


class ImageScene:
    """busybox; filt/a:1 (tier=web), then filt/b:1 (tier=db) made from it; an untagged
    image no other stands on (dangling)."""

    def __init__(self, engine):
        self.busybox = engine.image_id("busybox")
        self.a = self._commit(engine, "busybox", "filt/a:1", ["LABEL tier=web"])
        self.b = self._commit(engine, "filt/a:1", "filt/b:1", ["LABEL tier=db"])
        self.dangling = self._commit(engine, "busybox", None, ["LABEL tier=none"])

    @staticmethod
    def _commit(engine, image, repository, changes):
        container_id = engine.run({"image": image, "network": "none",
                                   "cmd": ["sh", "-c", f"echo {repository} > /made"]})
        try:
            assert engine.wait(container_id) == 0
            return engine.commit(container_id, repository, changes=changes)
        finally:
            engine.remove(container_id)


@pytest.fixture
def images_scene(engine):
    made = ImageScene(engine)
    yield made
    for image in ("filt/b:1", "filt/a:1", made.dangling):
        engine.remove_image(image, force=True)


def short(image_id):
    return image_id[7:19]


# (arguments, the lines expected): the session's root holds other tests' images too, so the
# cases name ours with reference= (or check only ours where they cannot, with a function of
# the scene and the lines that is true when they are right).
IMAGE_CASES = [
    # docker images --filter "dangling=true"
    (["-q", "--filter", "dangling=true"],
     lambda s, got: short(s.dangling) in got and not {short(s.a), short(s.b)} & set(got)),
    (["--format", "{{.Repository}}:{{.Tag}}", "--filter", "dangling=false", "--filter",
      "reference=filt/*"], lambda s: ["filt/b:1", "filt/a:1"]),
    # docker images --filter "reference=busy*:*libc" (glob on name:tag, then on the name)
    (["--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=filt/*:1"],
     lambda s: ["filt/b:1", "filt/a:1"]),
    (["--format", "{{.Repository}}", "--filter", "reference=filt/a"], lambda s: ["filt/a"]),
    (["--format", "{{.Repository}}", "--filter", "reference=f*"],        # no '/' in `*`
     lambda s, got: not {"filt/a", "filt/b"} & set(got)),
    (["--format", "{{.Repository}}", "filt/b"], lambda s: ["filt/b"]),
    # docker images --filter "label=com.example.version" / "label=...=1.0"
    (["-q", "--filter", "label=tier", "--filter", "reference=filt/*"],
     lambda s: [short(s.b), short(s.a)]),
    (["-q", "--filter", "label=tier=db"], lambda s: [short(s.b)]),
    (["-q", "--filter", "label=tier=none"], lambda s: [short(s.dangling)]),
    # docker images --filter "before=image1" / "since=image3"
    (["-q", "--filter", "before=filt/b:1", "--filter", "reference=filt/*"],
     lambda s: [short(s.a)]),
    (["-q", "--filter", "since=filt/a:1"], lambda s: [short(s.dangling), short(s.b)]),
    (["-q", "--filter", "since=filt/a:1", "--filter", "dangling=true"],
     lambda s: [short(s.dangling)]),
]


def test_images_filters(images_scene, moor):
    failures = []
    for args, expected in IMAGE_CASES:
        result = moor("images", *args)
        got = result.stdout.splitlines()
        right = expected(images_scene, got) if expected.__code__.co_argcount == 2 else \
            got == expected(images_scene)
        if result.returncode != 0 or not right:
            failures.append(f"images {' '.join(args)}: {result.returncode} {got} "
                            f"{result.stderr}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("args, message", [
    (["--filter", "colour=red"], "Error: invalid filter 'colour'\n"),
    (["--filter", "dangling=maybe"], "Error: invalid filter 'dangling=maybe'\n"),
    (["--filter", "before=no/such:image"], "Error: No such image: no/such:image\n"),
])
def test_images_filter_errors(moor, args, message):
    result = moor("images", *args)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


def test_a_filter_without_a_value_is_a_bad_flag(moor):
    for verb in (["images"], ["ps"]):
        result = moor(*verb, "--filter", "dangling")
        assert result.returncode == 125
        assert result.stderr == ('Error: invalid argument "dangling" for "-f, --filter" flag: '
                                 'bad format of filter (expected name=value)\n')


class ContainerScene:
    """In order of creation: `fl-web` (running, tier=web, publishes 80, exposes 9000),
    `fl-db` (created, tier=db, a bind mount on /data, no network), `fl-done` (exited 3, from
    filt/a:1) and `fl-net` (running on the network fl-net)."""

    def __init__(self, engine, tmp_path):
        self.host_dir = str(tmp_path / "data")
        self.image = ImageScene._commit(engine, "busybox", "filt/a:1", [])
        self.network = engine.network_inspect(_network(engine))["Id"]
        self.web = engine.run({"image": "busybox", "name": "fl-web", "labels": {"tier": "web"},
                               "ports": ["80"], "expose": ["9000"],
                               "cmd": ["sleep", "300"]})
        self.db = engine.create({"image": "busybox", "name": "fl-db", "network": "none",
                                 "labels": {"tier": "db"}, "binds": [f"{self.host_dir}:/data"],
                                 "cmd": ["true"]})
        self.done = engine.run({"image": "filt/a:1", "name": "fl-done", "network": "none",
                                "cmd": ["sh", "-c", "head -c 1500 /dev/zero > /f; exit 3"]})
        assert engine.wait(self.done) == 3
        self.net = engine.run({"image": "busybox", "name": "fl-net", "network": "fl-net",
                               "cmd": ["sleep", "300"]})


def _network(engine):
    from runtime.network import create_network
    return create_network(engine.paths, "fl-net")["Id"]


@pytest.fixture
def containers_scene(engine, tmp_path):
    from runtime.network import remove_network
    made = None
    try:
        made = ContainerScene(engine, tmp_path)
        yield made
    finally:
        for name in ("fl-web", "fl-db", "fl-done", "fl-net"):
            try:
                engine.remove(name, force=True)
            except Exception:
                pass
        try:
            remove_network(engine.paths, "fl-net")
        except Exception:
            pass
        try:
            engine.remove_image("filt/a:1", force=True)
        except Exception:
            pass


# (arguments of `ps`, the names it lists, newest first)
PS_CASES = [
    ([], ["fl-net", "fl-web"]),
    (["-a"], ["fl-net", "fl-done", "fl-db", "fl-web"]),
    # docker ps -a --filter 'exited=0' / status= (exited and created list without -a)
    (["--filter", "status=exited"], ["fl-done"]),
    (["--filter", "status=created"], ["fl-db"]),
    (["--filter", "status=running", "--filter", "status=created"], ["fl-net", "fl-db",
                                                                    "fl-web"]),
    (["--filter", "exited=3"], []),
    (["-a", "--filter", "exited=3"], ["fl-done"]),
    (["-a", "--filter", "exited=0"], []),
    # label, name (a regular expression on /NAME), id (one on the ID)
    (["-a", "--filter", "label=tier"], ["fl-db", "fl-web"]),
    (["-a", "--filter", "label=tier=db"], ["fl-db"]),
    (["-a", "--filter", "name=^/fl-d"], ["fl-done", "fl-db"]),
    (["-a", "--filter", "name=^fl-d"], ["fl-done", "fl-db"]),     # with or without the /
    (["-a", "--filter", "name=web", "--filter", "name=net"], ["fl-net", "fl-web"]),
    (["-a", "--filter", "name=fl", "--filter", "label=tier=web"], ["fl-web"]),
    # ancestor: the image or one made from it
    (["-a", "--filter", "ancestor=filt/a:1"], ["fl-done"]),
    (["-a", "--filter", "ancestor=busybox"], ["fl-net", "fl-done", "fl-db", "fl-web"]),
    (["-a", "--filter", "ancestor=no/such"], []),
    # before / since: created before or after a container
    (["-a", "--filter", "before=fl-done"], ["fl-db", "fl-web"]),
    (["-a", "--filter", "since=fl-db"], ["fl-net", "fl-done"]),
    (["-a", "--filter", "since=fl-web", "--filter", "before=fl-net"], ["fl-done", "fl-db"]),
    # volume: a mount's destination, or its source (a volume's name once named volumes land)
    (["-a", "--filter", "volume=/data"], ["fl-db"]),
    # network: by name or ID prefix; the network a created container asked for
    (["-a", "--filter", "network=fl-net"], ["fl-net"]),
    (["-a", "--filter", "network=none"], ["fl-done", "fl-db"]),
    (["-a", "--filter", "network=bridge"], ["fl-web"]),
    # docker ps --filter publish=80 / expose=8000-8080/tcp / publish=80/udp
    (["--filter", "publish=80"], ["fl-web"]),
    (["--filter", "publish=80/tcp"], ["fl-web"]),
    (["--filter", "publish=80/udp"], []),
    (["--filter", "publish=9000"], []),
    (["-a", "--filter", "expose=8990-9010/tcp"], ["fl-web"]),
    (["-a", "--filter", "expose=80"], ["fl-web"]),
    # health: no container has a health check: all are `none`
    (["-a", "--filter", "health=none"], ["fl-net", "fl-done", "fl-db", "fl-web"]),
    (["-a", "--filter", "health=healthy"], []),
    # -n N / -l: the latest created, whatever their state; after the filters
    (["-n", "2"], ["fl-net", "fl-done"]),
    (["-l"], ["fl-net"]),
    (["-n", "1", "--filter", "label=tier"], ["fl-db"]),
]


def test_ps_filters(containers_scene, moor):
    failures = []
    for args, expected in PS_CASES:
        result = moor("ps", *args, "--format", "{{.Names}}")
        got = [name for name in result.stdout.splitlines() if name.startswith("fl-")]
        if result.returncode != 0 or got != expected:
            failures.append(f"ps {' '.join(args)}: {result.returncode} {got} {result.stderr}")
    for args, expected in ((["-a", "--filter", f"volume={containers_scene.host_dir}"],
                            ["fl-db"]),
                           (["-a", "--filter", f"id={containers_scene.done[:8]}"], ["fl-done"]),
                           (["-a", "--filter", f"network={containers_scene.network[:10]}"],
                            ["fl-net"])):
        result = moor("ps", *args, "--format", "{{.Names}}")
        if result.stdout.splitlines() != expected:
            failures.append(f"ps {' '.join(args)}: {result.stdout.splitlines()}")
    assert not failures, "\n".join(failures)


def test_ps_sizes_are_dockers(containers_scene, moor):
    table = moor("ps", "-a", "-s", "--filter", "name=fl-done").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES", "SIZE"]
    assert table[1].endswith("fl-done   1.5kB (virtual 4.21MB)") or \
        " fl-done   1.5kB (virtual " in table[1], table[1]


@pytest.mark.parametrize("filter_text, message", [
    ("colour=red", "Error: invalid filter 'colour'\n"),
    ("status=sleeping", "Error: invalid filter 'status=sleeping'\n"),
    ("health=ok", "Error: invalid filter 'health=ok'\n"),
    ("publish=8080:80", "Error: filter for 'publish' should not contain ':': 8080:80\n"),
    ("before=no-such-container", "Error: No such container: no-such-container\n"),
])
def test_ps_filter_errors(moor, filter_text, message):
    result = moor("ps", "--filter", filter_text)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


def test_ps_volume_filter_finds_named_volumes(engine, moor):
    moor("volume", "create", "fl-vol", check=True)
    try:
        moor("create", "--name", "fl-vol-user", "-v", "fl-vol:/vol", "busybox", check=True)
        moor("create", "--name", "fl-anonymous", "-v", "/scratch", "busybox", check=True)
        assert moor("ps", "-a", "--filter", "volume=fl-vol", "--format",
                    "{{.Names}}").stdout == "fl-vol-user\n"
        assert moor("ps", "-a", "--filter", "volume=/vol", "--format",
                    "{{.Names}}").stdout == "fl-vol-user\n"
        anonymous = engine.inspect("fl-anonymous")["Mounts"][0]["Name"]
        assert moor("ps", "-a", "--filter", f"volume={anonymous}", "--format",
                    "{{.Names}}").stdout == "fl-anonymous\n"
        assert moor("ps", "-a", "--filter", "volume=fl-vol", "--filter", "volume=/scratch",
                    "--format", "{{.Names}}").stdout == "fl-anonymous\nfl-vol-user\n"
        assert moor("ps", "-a", "--filter", "volume=no-such-volume").stdout.count("\n") == 1
    finally:
        moor("rm", "-f", "-v", "fl-vol-user", "fl-anonymous")
        moor("volume", "rm", "fl-vol")


@pytest.fixture
def health_checker(engine):
    """The health checker the engine service hosts, in a thread of this test, scanning
    often."""
    checker = engine.health_checker(scan_seconds=0.05)
    checker.start()
    yield checker
    checker.stop()


def test_ps_health_filter_follows_the_health_check(engine, moor, health_checker):
    from tests.stack import wait_until
    often = ["--health-interval", "100ms", "--health-retries", "1"]
    moor("run", "-d", "--name", "fl-healthy", "--health-cmd", "true", *often,
         "busybox", "sleep", "300", check=True)
    moor("run", "-d", "--name", "fl-unhealthy", "--health-cmd", "false", *often,
         "busybox", "sleep", "300", check=True)
    # Failures in the start period do not count: the check stays `starting`.
    moor("run", "-d", "--name", "fl-starting", "--health-cmd", "false", *often,
         "--health-start-period", "1h", "busybox", "sleep", "300", check=True)
    moor("run", "-d", "--name", "fl-unchecked", "busybox", "sleep", "300", check=True)

    def names(status: str) -> list[str]:
        listed = moor("ps", "--filter", f"health={status}", "--format", "{{.Names}}",
                      check=True).stdout.split()
        return sorted(name for name in listed if name.startswith("fl-"))
    try:
        wait_until(lambda: names("healthy") == ["fl-healthy"] and
                   names("unhealthy") == ["fl-unhealthy"], what="the checks to decide")
        assert names("starting") == ["fl-starting"]
        assert names("none") == ["fl-unchecked"]
        assert sorted(moor("ps", "--filter", "health=healthy", "--filter", "health=starting",
                           "--format", "{{.Names}}").stdout.split()) == \
            ["fl-healthy", "fl-starting"]
        # A stopped container is listed with -a, its health no longer checked.
        moor("stop", "-t", "0", "fl-healthy", check=True)
        assert "fl-healthy" not in names("healthy")
    finally:
        moor("rm", "-f", "fl-healthy", "fl-unhealthy", "fl-starting", "fl-unchecked")
