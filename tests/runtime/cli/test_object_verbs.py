"""The verbs Docker has beyond the everyday ones, through the real `moor` command: `update`
(limits and restart policy of a running container), `network prune`, `builder prune`,
`system df`, `system prune`, and `search` in a registry's catalog."""

import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

import pytest

from runtime.api import Engine
from runtime.container import cgroups
from tests.runtime.conftest import REPOSITORY, destroy_root
from tests.runtime.registry_fixture import Registry

pytestmark = pytest.mark.privileged


def limits(engine, container_id: str) -> tuple[str, str, str]:
    """(memory, CPU quota, pids) as the container's cgroups hold them."""
    parent = engine.paths.cgroup_parent

    def read(controller, *names):
        for name in names:
            path = os.path.join(cgroups.cgroup_dir(parent, container_id, controller), name)
            if os.path.exists(path):
                with open(path) as f:
                    return f.read().strip()
        raise AssertionError(f"no {names} for {container_id}")
    memory = read("memory", "memory.max", "memory.limit_in_bytes")
    cpu = read("cpu", "cpu.max", "cpu.cfs_quota_us").split()[0]
    return memory, cpu, read("pids", "pids.max")


UNLIMITED_MEMORY = ("max", "9223372036854771712")


def test_update_changes_a_running_containers_limits(engine, moor, runtime_name):
    container_id = engine.run({"image": "busybox", "name": "upd", "runtime": runtime_name,
                               "memory": "64m", "cpus": "1", "pids_limit": 20,
                               "cmd": ["sleep", "300"]})
    assert limits(engine, container_id) in (("67108864", "100000", "20"),)
    result = moor("update", "-m", "128m", "--cpus", "0.5", "--pids-limit", "50", "--restart",
                  "on-failure:3", "upd")
    assert (result.returncode, result.stdout, result.stderr) == (0, "upd\n", "")
    assert limits(engine, container_id) == ("134217728", "50000", "50")
    assert moor("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} "
                "{{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:"
                "{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "upd").stdout == \
        "134217728 500000000 50 on-failure:3\n"
    # 0 (and -1 for processes) lift a limit, as in Docker.
    moor("update", "-m", "0", "--cpus", "0", "--pids-limit", "-1", "upd", check=True)
    memory, cpu, pids = limits(engine, container_id)
    assert memory in UNLIMITED_MEMORY and cpu in ("max", "-1") and pids == "max"
    # A stopped container keeps what was set for its next start.
    engine.stop(container_id, timeout=0)
    moor("update", "--cpus", "0.25", "--pids-limit", "30", "upd", check=True)
    engine.start(container_id)
    assert limits(engine, container_id)[1:] == ("25000", "30")


@pytest.mark.parametrize("args, message", [
    (["upd-bad"], "you must provide one or more flags when using this command"),
    (["-m", "1k", "upd-bad"], "Minimum memory limit allowed is 6MB"),
    (["--restart", "always", "upd-bad"],
     "Restart policy cannot be updated because AutoRemove is enabled for the container"),
    (["--restart", "sometimes", "upd-bad"], "invalid restart policy"),
    (["--memory-swap", "32m", "upd-bad"], "You should always set the Memory limit"),
    (["--cpus", "1", "no-such-container"], "No such container: no-such-container"),
])
def test_update_refuses_what_docker_refuses(engine, moor, args, message):
    engine.run({"image": "busybox", "name": "upd-bad", "auto_remove": True,
                "cmd": ["sleep", "300"]})
    before = moor("inspect", "-f", "{{json .HostConfig}}", "upd-bad").stdout
    result = moor("update", *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert moor("inspect", "-f", "{{json .HostConfig}}", "upd-bad").stdout == before


def test_network_prune_takes_the_unused_networks(engine, moor):
    from runtime.network import create_network, ensure_network, list_networks, remove_network
    for name, labels in (("np-unused", {}), ("np-used", {}), ("np-kept", {"keep": "1"})):
        create_network(engine.paths, name, labels=labels)
    ensure_network(engine.paths, "team-9099", {"moorage.team": "team-9099"})
    engine.run({"image": "busybox", "name": "np-user", "network": "np-used",
                "cmd": ["sleep", "300"]})
    try:
        refused = moor("network", "prune")
        assert refused.returncode == 1 and "--force" in refused.stderr
        pruned = moor("network", "prune", "-f", "--filter", "label!=keep")
        assert pruned.stdout == "Deleted Networks:\nnp-unused\n", pruned.stderr
        assert moor("network", "prune", "-f").stdout == "Deleted Networks:\nnp-kept\n"
        assert moor("network", "prune", "-f").stdout == ""
        names = {network["Name"] for network in list_networks(engine.paths)}
        assert {"np-used", "team-9099", "bridge", "host", "none"} <= names
        assert not {"np-unused", "np-kept"} & names
    finally:
        engine.remove("np-user", force=True)
        for name in ("np-used", "team-9099", "np-unused", "np-kept"):
            try:
                remove_network(engine.paths, name)
            except Exception:
                pass


@pytest.fixture
def fresh():
    """An engine root of its own with only the busybox image: `system df` counts it all."""
    engine = Engine(tempfile.mkdtemp(prefix="moorage-test-df-"))
    engine.bootstrap_busybox()
    try:
        yield engine
    finally:
        destroy_root(engine)


def moor_at(engine, *args, input=None):
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
                          env={**os.environ, "MOORAGE_ROOT": engine.paths.root}, input=input,
                          capture_output=True, text=True, timeout=300)


def df(engine) -> dict:
    lines = moor_at(engine, "system", "df").stdout.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    rows = {}
    for line in lines[1:]:
        kind, rest = re.match(r"^(Images|Containers|Local Volumes|Build Cache)\s+(.*)$",
                              line).groups()
        rows[kind] = rest.split(None, 3)
    assert list(rows) == ["Images", "Containers", "Local Volumes", "Build Cache"]
    return rows


def build(engine, tag: str, dockerfile: str):
    result = moor_at(engine, "build", "-q", "-t", tag, "-", input=dockerfile)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_system_df_and_builder_prune(fresh, tmp_path):
    rows = df(fresh)
    assert rows["Images"][:2] == ["1", "0"] and rows["Images"][3].endswith("(100%)")
    assert rows["Containers"] == ["0", "0", "0B", "0B"]
    assert rows["Build Cache"] == ["0", "0", "0B", "0B"]

    first = build(fresh, "bp:1", "FROM busybox\nRUN echo a > /a\nRUN head -c 3000 /dev/zero"
                                 " > /b\n")
    step_a = fresh.store.parent(first)
    second = build(fresh, "bp:1", "FROM busybox\nRUN echo a > /a\nRUN echo c > /c\n")
    assert fresh.store.parent(second) == step_a
    finished = fresh.run({"image": "busybox", "network": "none", "cmd": ["true"]})
    assert fresh.wait(finished) == 0
    committed = fresh.commit(finished)          # an unnamed image, but no build cache
    rows = df(fresh)
    assert rows["Build Cache"][:3] == ["2", "0", "3kB"] and rows["Build Cache"][3] == "3kB"
    container = rows["Containers"]
    assert container[:2] == ["1", "0"]

    pruned = moor_at(fresh, "builder", "prune", "-f")
    assert pruned.stdout == (f"Deleted build cache objects:\n{first[7:]}\n\n"
                             "Total reclaimed space: 3kB\n"), pruned.stderr
    assert not fresh.store.exists(first) and fresh.store.exists(step_a)
    pruned = moor_at(fresh, "builder", "prune", "-a", "-f")
    assert pruned.stdout == (f"Deleted build cache objects:\n{step_a[7:]}\n\n"
                             "Total reclaimed space: 0B\n")
    assert fresh.store.exists(committed)
    ran = moor_at(fresh, "run", "--rm", "--network", "none", "bp:1", "cat", "/a", "/c")
    assert ran.stdout == "a\nc\n"
    assert df(fresh)["Build Cache"] == ["0", "0", "0B", "0B"]
    assert moor_at(fresh, "builder", "prune", "-f").stdout == "Total reclaimed space: 0B\n"

    runner = fresh.run({"image": "bp:1", "network": "none", "cmd": ["sleep", "300"]})
    rows = df(fresh)
    assert rows["Images"][1] == "2"     # busybox (the stopped container's) and bp:1
    assert rows["Containers"][:2] == ["2", "1"]
    fresh.remove(runner, force=True)


def test_system_prune_takes_networks_and_build_cache_too(fresh):
    from runtime.network import create_network
    create_network(fresh.paths, "sp-unused")
    dangling_step = build(fresh, "sp:1", "FROM busybox\nRUN echo 1 > /one\n")
    build(fresh, "sp:1", "FROM busybox\nRUN echo 2 > /two\n")
    stopped = fresh.run({"image": "busybox", "network": "none", "cmd": ["true"]})
    assert fresh.wait(stopped) == 0
    output = moor_at(fresh, "system", "prune", "-f").stdout
    assert f"Deleted Containers:\n{stopped}\n" in output
    assert "Deleted Networks:\nsp-unused\n" in output
    # The step the second build left behind is a dangling image: image prune takes it.
    assert dangling_step[7:] in output and not fresh.store.exists(dangling_step)
    assert moor_at(fresh, "system", "prune", "-f").stdout == "Total reclaimed space: 0B\n"


@pytest.fixture(scope="module")
def registry():
    the_registry = Registry()
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


def test_search_lists_a_registrys_catalog(engine, moor, registry):
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": registry.put_blob("search/tools/app", b"{}"), "size": 2},
                "layers": []}
    for repository in ("search/tools/app", "search/web/app", "search/web/db"):
        registry.put_blob(repository, b"{}")
        registry.put_manifest(repository, "1", manifest,
                              "application/vnd.oci.image.manifest.v1+json")
    address = registry.address
    result = moor("search", f"{address}/app")
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"],
        [f"{address}/search/tools/app", "0"], [f"{address}/search/web/app", "0"]]
    assert moor("search", "--format", "{{.Name}}", f"{address}/search/").stdout.split() == [
        f"{address}/search/tools/app", f"{address}/search/web/app", f"{address}/search/web/db"]
    assert moor("search", "--limit", "1", "--format", "{{.Name}}",
                f"{address}/web").stdout == f"{address}/search/web/app\n"
    assert moor("search", "--filter", "stars=3", "--format", "{{.Name}}",
                f"{address}/app").stdout == ""
    assert json.loads(moor("search", "--format", "json", f"{address}/db").stdout) == {
        "Description": "", "IsAutomated": "", "IsOfficial": "",
        "Name": f"{address}/search/web/db", "StarCount": "0"}


def test_search_where_there_is_no_catalog_is_a_clear_error(moor):
    hub = moor("search", "busybox")
    assert hub.returncode == 1 and hub.stderr.startswith(
        "Error: searching Docker Hub is not supported")

    class NoCatalog(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            status = 200 if self.path == "/v2/" else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NoCatalog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        result = moor("search", f"127.0.0.1:{port}/app")
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: registry 127.0.0.1:{port} does not list its "
                                        "repositories to us (GET /v2/_catalog: ")
        assert len(result.stderr.splitlines()) == 1
    finally:
        server.shutdown()
        server.server_close()
