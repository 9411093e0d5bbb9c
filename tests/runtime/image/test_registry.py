"""`moor pull`, `push`, `login` and `logout` against a real registry (Debian's
docker-registry on a free 127.0.0.1 port, see registry_fixture.py): round trips between two
engine roots, layer reuse, tampered and hostile registries, image indexes, token and Basic
auth, interop with skopeo, and clear one-line errors. Network traffic goes to 127.0.0.1 only.
"""

import base64
import contextlib
import gzip
import hashlib
import http.server
import io
import ipaddress
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

import pytest

from runtime.api import Engine
from runtime.errors import InvalidArgument, MoorError
from runtime.image import archive as archives
from runtime.image.commit import commit
from runtime.image.distribution import client, names
from runtime.image.distribution.credentials import Credentials
from runtime.image.distribution.pull import choose_platform, host_platform
from tests.runtime.conftest import REPOSITORY, destroy_root
from tests.runtime.registry_fixture import Registry, private_mounts
from tests.runtime.tarfactory import Archive
from tests.stack import free_port

DIGEST_LINE = re.compile(r"^(\S+): digest: (sha256:[0-9a-f]{64}) size: (\d+)$")
USERS = {"alice": "wonderland"}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def registry():
    the_registry = Registry()
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


@pytest.fixture
def other():
    """A second engine root, as on another host; removed with everything in it."""
    engine = Engine(tempfile.mkdtemp(prefix="moorage-test-pull-"))
    engine.paths.ensure()
    try:
        yield engine
        assert os.listdir(engine.paths.tmp) == [], "a pull left staging behind"
    finally:
        destroy_root(engine)


_names = iter(range(1, 1_000_000))


@pytest.fixture
def repo(registry):
    """A repository name of its own in the registry for each test."""
    return f"{registry.address}/t{os.getpid()}-{next(_names)}/app"


def moor_at(engine: Engine, *args, input=None):
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
                          env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
                          input=input, capture_output=True, text=True, timeout=120)


def one_error_line(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0][len("Error: "):]


def snapshot(engine: Engine) -> dict:
    """Every path of the root but staging and lock files, with file sizes: what a failed
    pull must leave exactly as it was."""
    found = {}
    root = engine.paths.root
    for directory, dirs, files in os.walk(root):
        relative = os.path.relpath(directory, root)
        if relative == "tmp":
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(directory, name)
            if name.endswith(".lock"):
                continue
            st = os.lstat(path)
            found[os.path.join(relative, name)] = st.st_size if stat.S_ISREG(st.st_mode) else -1
    return found


def unique_image(engine: Engine, reference: str, content: str | None = None) -> str:
    """busybox plus one layer of its own (so its blob is in no other test's way)."""
    content = content or os.urandom(16).hex()
    container_id = engine.run({"image": "busybox", "network": "none",
                               "cmd": ["sh", "-c", f"echo {content} > /unique"]})
    try:
        assert engine.wait(container_id) == 0
        return commit(engine, engine.container(container_id), repository=reference)
    finally:
        engine.remove(container_id, force=True)


def layer_blobs(engine: Engine, image_id: str) -> list[str]:
    """The compressed digests a push used for the image's layers (their sources)."""
    return [engine.store.layer_info(chain)["source"]["digest"]
            for chain in engine.store.layers(image_id)]


def config_for(diff_ids: list[str], architecture: str | None = None, **extra) -> bytes:
    config = {"architecture": architecture or host_platform()[0], "os": "linux",
              "created": "2026-01-01T00:00:00Z",
              "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"layer {n}"}
                          for n in range(len(diff_ids))], **extra}
    return json.dumps(config, sort_keys=True).encode()


def push_raw(registry: Registry, repository: str, tag: str, layers: list[bytes],
             config: bytes, config_type: str = client.CONFIG_OCI) -> tuple[str, dict]:
    """An image put into the registry with plain HTTP, bypassing the client under test;
    returns its manifest digest and manifest."""
    for blob in layers:
        registry.put_blob(repository, blob)
    config_digest = registry.put_blob(repository, config)
    manifest = {"schemaVersion": 2, "mediaType": client.MANIFEST_OCI,
                "config": {"mediaType": config_type, "digest": config_digest,
                           "size": len(config)},
                "layers": [{"mediaType": client.LAYER_OCI_GZIP, "size": len(blob),
                            "digest": "sha256:" + hashlib.sha256(blob).hexdigest()}
                           for blob in layers]}
    return registry.put_manifest(repository, tag, manifest, client.MANIFEST_OCI), manifest


def busybox_blob(engine: Engine, registry: Registry, repo: str) -> tuple[bytes, str]:
    """The gzip blob of busybox's layer (pushed once so that it has one) and its diff ID."""
    engine.tag("busybox", repo + ":base")
    engine.push(repo + ":base")
    chain = engine.store.layers(engine.image_id("busybox"))[0]
    info = engine.store.layer_info(chain)
    with open(engine.store.blob_path(info["source"]["digest"]), "rb") as f:
        return f.read(), info["diff_id"]


def path_of(repo: str) -> str:
    return repo.split("/", 1)[1]


# --------------------------------------------------------------------------- round trips

@pytest.mark.privileged
def test_push_then_pull_into_another_root_gives_the_same_image(engine, other, repo):
    reference = repo + ":1"
    engine.tag("busybox", reference)
    image_id = engine.image_id("busybox")
    diff_id = engine.store.config(image_id)["rootfs"]["diff_ids"][0]

    pushed = moor_at(engine, "push", reference)
    assert pushed.returncode == 0, pushed.stderr
    lines = pushed.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{repo}]"
    assert f"{diff_id[7:19]}: Pushed" in lines
    tag, digest, size = DIGEST_LINE.match(lines[-1]).groups()
    assert tag == "1" and int(size) > 0

    pulled = moor_at(other, "pull", reference)
    assert pulled.returncode == 0, pulled.stderr
    lines = pulled.stdout.splitlines()
    assert lines[0] == f"1: Pulling from {path_of(repo)}"
    blob = layer_blobs(engine, image_id)[0]
    assert f"{blob[7:19]}: Pull complete" in lines
    assert f"Digest: {digest}" in lines
    assert f"Status: Downloaded newer image for {reference}" in lines
    assert lines[-1] == reference

    assert other.image_id(reference) == image_id
    assert other.store.config_bytes(image_id) == engine.store.config_bytes(image_id)
    assert other.image_inspect(reference)["RootFS"] == engine.image_inspect(image_id)["RootFS"]
    keep = ("Created", "CreatedBy", "Comment")
    assert [{k: row[k] for k in keep} for row in other.history(reference)] == \
        [{k: row[k] for k in keep} for row in engine.history(image_id)]
    # The pulled layer keeps the blob it came as, for the next push or save.
    chain = other.store.layers(image_id)[0]
    assert other.store.layer_info(chain)["source"]["digest"] == blob
    assert other.store.has_blob(blob)

    container_id = other.run({"image": reference, "network": "none",
                              "cmd": ["sh", "-c", "echo pulled and running"]})
    assert other.wait(container_id) == 0
    assert "".join(r.data.decode() for r in other.logs(container_id)) == "pulled and running\n"
    other.remove(container_id)

    again = moor_at(engine, "push", reference)
    assert again.returncode == 0, again.stderr
    assert f"{diff_id[7:19]}: Layer already exists" in again.stdout.splitlines()
    assert DIGEST_LINE.match(again.stdout.splitlines()[-1]).group(2) == digest

    up_to_date = moor_at(other, "pull", reference)
    assert f"Status: Image is up to date for {reference}" in up_to_date.stdout
    assert moor_at(other, "pull", "-q", reference).stdout == reference + "\n"
    assert moor_at(engine, "push", "-q", reference).stdout == reference + "\n"


@pytest.mark.privileged
def test_pull_skips_layers_it_already_has(engine, other, repo):
    first = unique_image(engine, repo + ":1", "one")
    container_id = engine.run({"image": first, "network": "none",
                               "cmd": ["sh", "-c", "echo two > /two"]})
    assert engine.wait(container_id) == 0
    second = commit(engine, engine.container(container_id), repository=repo + ":2")
    engine.remove(container_id)
    assert len(engine.store.layers(second)) == 3
    engine.push(repo + ":1")
    engine.push(repo + ":2")

    lines = []
    assert other.pull(repo + ":1", progress=lines.append) == first
    assert sum(line.endswith(": Pull complete") for line in lines) == 2

    lines = []
    assert other.pull(repo + ":2", progress=lines.append) == second
    blobs = layer_blobs(engine, second)
    assert [line for line in lines if line.endswith(("Already exists", "Pull complete"))] == [
        f"{blobs[0][7:19]}: Already exists", f"{blobs[1][7:19]}: Already exists",
        f"{blobs[2][7:19]}: Pull complete"]
    assert other.store.layers(second) == engine.store.layers(second)
    assert other.history(repo + ":2")[0]["Id"] == second

    container_id = other.run({"image": repo + ":2", "network": "none",
                              "cmd": ["cat", "/unique", "/two"]})
    assert other.wait(container_id) == 0
    assert "".join(r.data.decode() for r in other.logs(container_id)) == "one\ntwo\n"
    other.remove(container_id)


@pytest.mark.privileged
def test_pull_by_digest_stores_the_image_untagged(engine, other, repo):
    image_id = unique_image(engine, repo + ":1")
    digest = engine.push(repo + ":1")
    lines = []
    assert other.pull(f"{repo}@{digest}", progress=lines.append) == image_id
    assert lines[0] == f"{digest}: Pulling from {path_of(repo)}"
    assert other.store.tags_of(image_id) == []
    assert other.image_inspect(image_id)["Id"] == image_id


@pytest.mark.privileged
def test_a_pulled_docker_hub_style_name_is_tagged_in_its_familiar_form(engine, other, repo):
    # `127.0.0.1:port/app` keeps its host; what is typed without a tag gets `latest`.
    engine.tag("busybox", repo)
    engine.push(repo)
    lines = []
    other.pull(repo, progress=lines.append)
    assert lines[0] == "Using default tag: latest"
    assert other.store.tags_of(other.image_id(repo)) == [repo + ":latest"]


@pytest.mark.privileged
def test_pushing_a_loaded_image_gzips_it_once_and_reuses_the_blob(engine, other, repo):
    image_id = unique_image(engine, repo + ":1")
    # A saved archive holds its layers uncompressed, as `docker save` does.
    archive = io.BytesIO()
    archives.save(engine, [repo + ":1"], archive)
    archive.seek(0)
    archives.load(other, archive)
    top = other.store.layers(image_id)[-1]
    uncompressed = other.store.layer_info(top)["source"]["digest"]
    assert uncompressed == other.store.layer_info(top)["diff_id"]

    digest = other.push(repo + ":1")
    source = other.store.layer_info(top)["source"]
    assert source["mediaType"] == client.LAYER_OCI_GZIP and source["digest"] != uncompressed
    assert not other.store.has_blob(uncompressed), "the uncompressed copy is dropped"
    lines = []
    assert other.push(repo + ":1", progress=lines.append) == digest
    assert all(line.endswith("Layer already exists") for line in lines[1:-1]
               if not line.endswith("Preparing"))


# --------------------------------------------------------------------------- hostile registries

@pytest.mark.privileged
def test_tampered_layer_blob_fails_verification_and_changes_nothing(engine, other, registry,
                                                                    repo):
    image_id = unique_image(engine, repo + ":1")
    engine.push(repo + ":1")
    other.pull(repo + ":1")
    other.remove_image(repo + ":1")     # busybox's layer stays out of the picture below
    blob = layer_blobs(engine, image_id)[-1]
    path = registry.blob_file(blob)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        data[len(data) // 2] ^= 0xFF
        f.seek(0)
        f.write(data)
    before = snapshot(other)

    error = one_error_line(moor_at(other, "pull", repo + ":1"))
    assert error == f"filesystem layer verification failed for digest {blob}"
    assert snapshot(other) == before


@pytest.mark.privileged
def test_tampered_manifest_fails_verification(engine, other, registry, repo):
    unique_image(engine, repo + ":1")
    digest = engine.push(repo + ":1")
    path = registry.blob_file(digest)
    with open(path, "rb") as f:
        manifest = f.read()
    # Still a valid manifest of the same length (the config's size has another last
    # digit): the registry serves it under the old digest.
    size = re.search(rb'"size":(\d+)', manifest)
    other_digit = b"%d" % ((int(size.group(1)[-1:]) + 1) % 10)
    tampered = manifest[:size.end() - 1] + other_digit + manifest[size.end():]
    assert len(tampered) == len(manifest) and tampered != manifest
    with open(path, "wb") as f:
        f.write(tampered)
    before = snapshot(other)
    for reference in (repo + ":1", f"{repo}@{digest}"):
        error = one_error_line(moor_at(other, "pull", reference))
        assert error == f"manifest verification failed for digest {digest}"
    assert snapshot(other) == before


@pytest.mark.privileged
def test_manifest_pointing_at_a_missing_blob_is_a_clear_error(engine, other, registry, repo):
    image_id = unique_image(engine, repo + ":1")
    engine.push(repo + ":1")
    blob = layer_blobs(engine, image_id)[-1]
    status, _, _ = registry.http("DELETE", f"/v2/{path_of(repo)}/blobs/{blob}")
    assert status == 202
    before = snapshot(other)
    error = one_error_line(moor_at(other, "pull", repo + ":1"))
    assert error == f"blob {blob} is missing from {repo}: blob unknown to registry"
    assert snapshot(other) == before


@pytest.mark.privileged
def test_layer_that_does_not_match_the_config_is_refused_and_rolled_back(engine, other,
                                                                         registry, repo):
    base, base_diff = busybox_blob(engine, registry, repo)
    second = gzip.compress(Archive().file("hello", b"hello\n").bytes(), mtime=0)
    wrong_diff = "sha256:" + "0" * 64
    push_raw(registry, path_of(repo), "1", [base, second], config_for([base_diff, wrong_diff]))
    before = snapshot(other)
    error = one_error_line(moor_at(other, "pull", repo + ":1"))
    assert "does not match the image config" in error and wrong_diff in error
    # busybox's layer was unpacked first, in the same pull: it is gone again.
    assert snapshot(other) == before


@pytest.mark.privileged
def test_hostile_layer_is_refused_and_nothing_escapes(engine, other, registry, repo):
    token = os.urandom(6).hex()
    canaries = [f"/tmp/moorage-escape-{token}", f"/tmp/moorage-escape-link-{token}"]
    base, base_diff = busybox_blob(engine, registry, repo)
    for name, tar, refusal in (
            ("dotdot", Archive().file(f"../../../../..{canaries[0]}", b"pwned"),
             "points outside the layer (breakout)"),
            ("symlink", Archive().symlink("evil", "/tmp").file(
                f"evil/{os.path.basename(canaries[1])}", b"pwned"),
             "goes through the symlink 'evil'")):
        raw = tar.bytes()
        hostile = gzip.compress(raw, mtime=0)
        diff = "sha256:" + hashlib.sha256(raw).hexdigest()
        push_raw(registry, path_of(repo), name, [base, hostile], config_for([base_diff, diff]))
        before = snapshot(other)
        error = one_error_line(moor_at(other, "pull", f"{repo}:{name}"))
        assert refusal in error, error
        assert snapshot(other) == before
    for canary in canaries:
        assert not os.path.lexists(canary)


@pytest.mark.privileged
def test_an_artifact_that_is_not_an_image_is_refused(engine, other, registry, repo):
    base, base_diff = busybox_blob(engine, registry, repo)
    push_raw(registry, path_of(repo), "chart", [base], config_for([base_diff]),
             config_type="application/vnd.cncf.helm.config.v1+json")
    before = snapshot(other)
    error = one_error_line(moor_at(other, "pull", repo + ":chart"))
    assert error == (f"{repo}:chart is not a container image (its config is "
                     "'application/vnd.cncf.helm.config.v1+json')")
    assert snapshot(other) == before


# --------------------------------------------------------------------------- indexes

@pytest.mark.privileged
@pytest.mark.parametrize("index_type", [client.INDEX_OCI, client.LIST_DOCKER])
def test_index_with_several_platforms_gives_the_hosts(engine, other, registry, repo,
                                                      index_type):
    base, base_diff = busybox_blob(engine, registry, repo)
    architecture, variant = host_platform()
    foreign = "arm64" if architecture != "arm64" else "amd64"
    entries, configs = [], {}
    for arch in (foreign, architecture):
        config = config_for([base_diff], arch)
        configs[arch] = "sha256:" + hashlib.sha256(config).hexdigest()
        manifest_digest, manifest = push_raw(registry, path_of(repo), f"only-{arch}", [base],
                                             config)
        data = json.dumps(manifest).encode()
        platform = {"os": "linux", "architecture": arch}
        if arch == architecture and variant:
            platform["variant"] = variant
        entries.append({"mediaType": client.MANIFEST_OCI, "digest": manifest_digest,
                        "size": len(data), "platform": platform})
    # An attestation entry (as BuildKit adds) is never an image to run.
    entries.insert(0, {**entries[0], "platform": {"os": "unknown",
                                                 "architecture": "unknown"}})
    index = {"schemaVersion": 2, "mediaType": index_type, "manifests": entries}
    index_digest = registry.put_manifest(path_of(repo), "multi", index, index_type)

    lines = []
    image_id = other.pull(repo + ":multi", progress=lines.append)
    assert image_id == configs[architecture]
    assert f"Digest: {index_digest}" in lines
    assert other.image_inspect(repo + ":multi")["Architecture"] == architecture
    container_id = other.run({"image": repo + ":multi", "network": "none", "cmd": ["true"]})
    assert other.wait(container_id) == 0
    other.remove(container_id)


@pytest.mark.privileged
def test_index_without_the_hosts_platform_is_a_clear_error(engine, other, registry, repo):
    base, base_diff = busybox_blob(engine, registry, repo)
    config = config_for([base_diff], "s390x")
    digest, manifest = push_raw(registry, path_of(repo), "s390x", [base], config)
    index = {"schemaVersion": 2, "mediaType": client.INDEX_OCI, "manifests": [
        {"mediaType": client.MANIFEST_OCI, "digest": digest,
         "size": len(json.dumps(manifest)), "platform": {"os": "linux",
                                                          "architecture": "s390x"}}]}
    registry.put_manifest(path_of(repo), "elsewhere", index, client.INDEX_OCI)
    error = one_error_line(moor_at(other, "pull", repo + ":elsewhere"))
    assert error == (f"no matching manifest for linux/{host_platform()[0]} in the manifest "
                     "list entries (it has linux/s390x)")


def test_platform_choice_prefers_the_exact_variant(monkeypatch):
    from runtime.image.distribution import pull
    monkeypatch.setattr(pull, "host_platform", lambda: pull.PLATFORMS["aarch64"])
    index = {"manifests": [
        {"digest": "a", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "b", "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "c", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "d", "platform": {"os": "unknown", "architecture": "unknown"}},
    ]}
    assert choose_platform(index)["digest"] == "c"
    index["manifests"].pop(2)
    assert choose_platform(index)["digest"] == "b"


# --------------------------------------------------------------------------- bad input

@pytest.mark.privileged
@pytest.mark.parametrize("verb", ["pull", "push"])
@pytest.mark.parametrize("reference", ["UPPER/case", "a//b", "name:tag!", "a/../b",
                                       "name@sha256:zz", "-x", "a b", "na$(id)me"])
def test_bad_reference_is_refused_before_any_request(moor, verb, reference):
    result = moor(verb, "--", reference)
    assert one_error_line(result).startswith("invalid reference format"), result.stderr


@pytest.mark.privileged
def test_unknown_tag_is_a_clear_error(other, repo):
    error = one_error_line(moor_at(other, "pull", repo + ":nope"))
    assert error == f"manifest for {repo}:nope not found: manifest unknown"


@pytest.mark.privileged
@pytest.mark.parametrize("verb", ["pull", "push"])
def test_registry_down_is_a_clear_error(engine, verb):
    reference = f"127.0.0.1:{free_port()}/nothing/here:1"
    engine.tag("busybox", reference)
    try:
        error = one_error_line(moor_at(engine, verb, reference))
    finally:
        engine.remove_image(reference)
    assert error == f"cannot reach registry {reference.split('/')[0]}: Connection refused"


@pytest.mark.privileged
def test_pushing_an_image_that_is_not_there(moor, registry):
    error = one_error_line(moor("push", f"{registry.address}/not/here:1"))
    assert error == f"An image does not exist locally with the tag: {registry.address}/not/here"


# --------------------------------------------------------------------------- auth

@pytest.fixture(scope="module")
def token_registry():
    the_registry = Registry(auth="token", users=USERS)
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


@pytest.fixture(scope="module")
def basic_registry():
    the_registry = Registry(auth="htpasswd", users=USERS)
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


def login(engine, address, password, *flags):
    return moor_at(engine, "login", "-u", "alice", "--password-stdin", *flags, address,
                   input=password + "\n")


@pytest.mark.privileged
@pytest.mark.parametrize("kind", ["token", "basic"])
def test_login_push_pull_logout(engine, other, kind, request):
    the_registry = request.getfixturevalue(f"{kind}_registry")
    address = the_registry.address
    reference = f"{address}/team/app:{kind}"
    engine.tag("busybox", reference)
    auth_file = os.path.join(engine.paths.root, Credentials.FILE)
    try:
        assert one_error_line(moor_at(engine, "push", reference)).startswith("unauthorized")

        wrong = login(engine, address, "guess")
        assert one_error_line(wrong) == "unauthorized: incorrect username or password"
        assert Credentials(engine.paths).get(address) is None

        right = login(engine, address, USERS["alice"])
        assert right.returncode == 0, right.stderr
        assert right.stdout == "Login Succeeded\n"
        assert stat.S_IMODE(os.stat(auth_file).st_mode) == 0o600
        with open(auth_file) as f:
            stored = json.load(f)["auths"][address]["auth"]
        assert base64.b64decode(stored) == b"alice:" + USERS["alice"].encode()

        pushed = moor_at(engine, "push", reference)
        assert pushed.returncode == 0, pushed.stderr
        if kind == "token":
            asked = [r for r in the_registry.token_server.requests if r["account"] == "alice"]
            assert any(r["scope"] == ["repository:team/app:pull,push"] for r in asked)
            assert all(r["service"] == "moorage-test-registry" for r in asked)

        assert one_error_line(moor_at(other, "pull", reference)).startswith("unauthorized")
        assert login(other, address, USERS["alice"]).returncode == 0
        pulled = moor_at(other, "pull", reference)
        assert pulled.returncode == 0, pulled.stderr
        assert other.image_id(reference) == engine.image_id("busybox")

        logout = moor_at(engine, "logout", address)
        assert logout.stdout == f"Removing login credentials for {address}\n"
        assert Credentials(engine.paths).get(address) is None
        assert moor_at(engine, "logout", address).stdout == f"Not logged in to {address}\n"
    finally:
        engine.remove_image(reference)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(auth_file)


@pytest.mark.privileged
def test_login_needs_a_password_from_somewhere(moor, registry):
    result = moor("login", "-u", "alice", registry.address, input="")
    assert one_error_line(result) == "Cannot perform an interactive login from a non TTY device"


# --------------------------------------------------------------------------- a fake registry

class FakeRegistry:
    """A scripted HTTP server on 127.0.0.1 for what a real registry cannot be made to do:
    `routes` maps a path to (status, headers, body); every request is recorded."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                owner.requests.append((self.command, self.path, dict(self.headers)))
                status, headers, body = owner.routes.get(self.path, (404, {}, b""))
                if callable(status):
                    status, headers, body = status(self)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.mark.privileged
def test_rate_limit_is_reported_as_such(other):
    body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message":
                                   "You have reached your pull rate limit."}]}).encode()
    with FakeRegistry({"/v2/app/manifests/latest": (429, {}, body)}) as fake:
        error = one_error_line(moor_at(other, "pull", f"{fake.address}/app"))
    assert error == "toomanyrequests: You have reached your pull rate limit."


@pytest.mark.privileged
def test_blob_redirect_to_another_host_does_not_carry_the_credentials(other):
    """Docker Hub answers blob GETs with a redirect to a CDN: follow it, but the registry's
    Authorization header stays with the registry."""
    raw = Archive().file("hello", b"hello\n").bytes()
    layer = gzip.compress(raw, mtime=0)
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = config_for(["sha256:" + hashlib.sha256(raw).hexdigest()])
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": client.MANIFEST_DOCKER,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": layer_digest, "size": len(layer)}]}).encode()
    expected = "Basic " + base64.b64encode(b"alice:wonderland").decode()

    def protected(answer):
        def route(handler):
            if handler.headers.get("Authorization") != expected:
                return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""
            return answer
        return route

    with FakeRegistry({f"/cdn/{layer_digest}": (200, {}, layer)}) as cdn, FakeRegistry({
            "/v2/app/manifests/1": (protected((200, {
                "Content-Type": client.MANIFEST_DOCKER}, manifest)), {}, b""),
            f"/v2/app/blobs/{config_digest}": (protected((200, {}, config)), {}, b""),
            f"/v2/app/blobs/{layer_digest}": (protected((307, {
                "Location": f"http://{cdn.address}/cdn/{layer_digest}"}, b"")), {}, b""),
    }) as fake:
        Credentials(other.paths).save(fake.address, "alice", "wonderland")
        assert other.pull(f"{fake.address}/app:1") == config_digest
    assert [(method, path) for method, path, _ in cdn.requests] == [
        ("GET", f"/cdn/{layer_digest}")]
    assert "Authorization" not in cdn.requests[0][2]


# --------------------------------------------------------------------------- skopeo

def skopeo(*args):
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    return subprocess.run(private_mounts(["skopeo", *args]), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.privileged
def test_skopeo_copies_what_moor_pushed(engine, repo, tmp_path):
    image_id = unique_image(engine, repo + ":1")
    engine.push(repo + ":1")
    copied = skopeo("copy", "--src-tls-verify=false", f"docker://{repo}:1",
                    f"oci:{tmp_path}/layout:copy")
    assert copied.returncode == 0, copied.stderr
    with open(tmp_path / "layout" / "index.json") as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(tmp_path / "layout" / "blobs" / "sha256" / manifest_digest[7:]) as f:
        manifest = json.load(f)
    assert manifest["config"]["digest"] == image_id
    assert [layer["digest"] for layer in manifest["layers"]] == layer_blobs(engine, image_id)


@pytest.mark.privileged
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_pull_of_an_image_skopeo_pushed_runs(engine, other, repo, tmp_path, transport):
    image_id = unique_image(engine, repo + ":1", "from-skopeo")
    saved = tmp_path / "saved.tar"
    result = subprocess.run([sys.executable, "-m", "runtime", "save", "-o", str(saved),
                             repo + ":1"], cwd=REPOSITORY, capture_output=True, text=True,
                            env={**os.environ, "MOORAGE_ROOT": engine.paths.root})
    assert result.returncode == 0, result.stderr
    source = f"{transport}:{saved}" + (f":{repo}:1" if transport == "docker-archive" else "")
    copied = skopeo("copy", "--dest-tls-verify=false", source, f"docker://{repo}:skopeo")
    assert copied.returncode == 0, copied.stderr

    assert other.pull(repo + ":skopeo") == image_id
    container_id = other.run({"image": repo + ":skopeo", "network": "none",
                              "cmd": ["cat", "/unique"]})
    assert other.wait(container_id) == 0
    assert "".join(r.data.decode() for r in other.logs(container_id)) == "from-skopeo\n"
    other.remove(container_id)


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize("text, registry, repository, familiar, canonical", [
    ("busybox", "docker.io", "library/busybox", "busybox",
     "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "busybox",
     "docker.io/library/busybox:1.36"),
    ("index.docker.io/team/app", "docker.io", "team/app", "team/app",
     "docker.io/team/app:latest"),
    ("team/app:2", "docker.io", "team/app", "team/app", "docker.io/team/app:2"),
    ("127.0.0.1:5000/app:1", "127.0.0.1:5000", "app", "127.0.0.1:5000/app",
     "127.0.0.1:5000/app:1"),
    ("localhost/a/b", "localhost", "a/b", "localhost/a/b", "localhost/a/b:latest"),
    ("registry.example.com/x@sha256:" + "a" * 64, "registry.example.com", "x",
     "registry.example.com/x", "registry.example.com/x@sha256:" + "a" * 64),
])
def test_references_are_normalised_like_docker(text, registry, repository, familiar,
                                               canonical):
    location = names.locate(text)
    assert (location.registry, location.repository, location.familiar) == (
        registry, repository, familiar)
    assert location.canonical_reference == canonical
    assert location.host == ("registry-1.docker.io" if registry == "docker.io" else registry)


def test_loopback_registries_are_plain_http_others_https(monkeypatch):
    monkeypatch.delenv(names.INSECURE_ENV, raising=False)
    assert client.Client(names.locate("127.0.0.1:5000/a")).plain
    assert client.Client(names.locate("127.9.9.9:5000/a")).plain
    assert client.Client(names.locate("localhost:5000/a")).plain
    assert client.Client(names.locate("localhost/a")).plain
    hub = client.Client(names.locate("busybox"))
    assert not hub.plain and not hub.insecure
    assert hub._url("/v2/") == "https://registry-1.docker.io/v2/"
    assert not client.Client(names.locate("registry.example.com:5000/a")).insecure
    monkeypatch.setenv(names.INSECURE_ENV, "registry.example.com:5000, other.example")
    assert client.Client(names.locate("registry.example.com:5000/a")).insecure
    assert not client.Client(names.locate("registry.example.com:5000/a")).plain


def test_insecure_registry_is_tried_with_https_then_plain_http(registry):
    """A registry named insecure that is not on loopback: HTTPS first (Docker's order),
    then HTTP when it does not speak TLS. One that is not named insecure stays on HTTPS."""
    location = names.locate(f"{registry.address}/app")
    with client.Client(location, insecure=True) as insecure:
        insecure._scheme = None     # as for a host that is not loopback
        insecure.request("GET", "/v2/").read()
        assert insecure._scheme == "http"
    with client.Client(location) as secure:
        secure._scheme = None
        with pytest.raises(client.Unreachable) as refused:
            secure.request("GET", "/v2/")
    assert refused.value.message.startswith(f"cannot reach registry {registry.address}: ")
    assert refused.value.message.endswith(
        f"for a registry that speaks plain HTTP use --insecure or {names.INSECURE_ENV}")


def test_bearer_challenges_are_parsed_with_commas_inside_quotes():
    scheme, params = client.parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull,push"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token",
                      "service": "registry.docker.io",
                      "scope": "repository:library/busybox:pull,push"}


def test_login_server_names():
    assert names.registry_of(None) == "docker.io"
    assert names.registry_of("https://index.docker.io/v1/") == "docker.io"
    assert names.registry_of("127.0.0.1:5000") == "127.0.0.1:5000"
    assert names.registry_of("https://registry.example.com/v2/") == "registry.example.com"
    with pytest.raises(InvalidArgument):
        names.registry_of("bad host/x")


# --------------------------------------------------------------------------- the transport

class ScriptedServer:
    """A TCP server on 127.0.0.1 answering the n-th request with `answers[n]`: (bytes,
    close the connection after it). Counts the connections it accepted."""

    def __init__(self, answers: list[tuple[bytes, bool]]):
        import socket
        self.answers = list(answers)
        self.connections = 0
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while self.answers:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                buffer = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffer:
                        data = connection.recv(65536)
                        if not data:
                            break
                        buffer += data
                    if b"\r\n\r\n" not in buffer:
                        break
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    self.requests.append(head)
                    answer, close = self.answers.pop(0)
                    connection.sendall(answer)
                    if close:
                        break

    def close(self):
        self._listener.close()
        self._thread.join(5)


def test_transport_keeps_one_connection_for_chunked_and_sized_answers():
    from runtime.image.distribution import transport
    server = ScriptedServer([
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Folded: a\r\n b\r\n\r\n"
         b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", False),    # HEAD: no body
    ])
    connections = transport.Connections(timeout=10)
    try:
        first = connections.send("GET", "http", f"127.0.0.1:{server.port}", "/a", {})
        assert first.getheader("X-Folded") == "a b"
        assert first.read(3) == b"hel" and first.read() == b"lo world"
        assert first.isclosed()
        assert connections.send("GET", "http", f"127.0.0.1:{server.port}", "/b",
                                {}).read() == b"abc"
        head = connections.send("HEAD", "http", f"127.0.0.1:{server.port}", "/c", {})
        assert head.status == 200 and head.read() == b""
    finally:
        connections.close()
        server.close()
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:")


def test_transport_reads_to_the_close_and_retries_a_connection_the_server_dropped():
    from runtime.image.distribution import transport
    server = ScriptedServer([
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True),   # then drops it, silently
        (b"HTTP/1.0 200 OK\r\n\r\nuntil the end", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", True),
    ])
    connections = transport.Connections(timeout=10)
    netloc = f"127.0.0.1:{server.port}"
    try:
        assert connections.send("GET", "http", netloc, "/1", {}).read() == b"ok"
        assert connections.send("GET", "http", netloc, "/2", {}).read() == b"until the end"
        truncated = connections.send("GET", "http", netloc, "/3", {})
        with pytest.raises(transport.ProtocolError):
            truncated.read()
    finally:
        connections.close()
        server.close()
    assert server.connections == 3


# --------------------------------------------------------------------------- pulls for others

def tiny_image() -> dict:
    """The blobs and manifest of a one-layer image, for a scripted registry."""
    raw = Archive().file("hello", b"hello\n").bytes()
    layer = gzip.compress(raw, mtime=0)
    config = config_for(["sha256:" + hashlib.sha256(raw).hexdigest()])
    image = {"layer": layer, "layer_digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
             "config": config, "config_digest": "sha256:" + hashlib.sha256(config).hexdigest()}
    image["manifest"] = json.dumps({
        "schemaVersion": 2, "mediaType": client.MANIFEST_DOCKER,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": image["config_digest"], "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": image["layer_digest"], "size": len(layer)}]}).encode()
    return image


REGISTRY_PING = (200, {"Docker-Distribution-API-Version": "registry/2.0"}, b"{}")


def registry_routes(image: dict, layer_answer) -> dict:
    """A scripted registry serving `image`, its layer blob answered with `layer_answer`."""
    return {"/v2/": REGISTRY_PING,
            "/v2/app/manifests/1": (200, {"Content-Type": client.MANIFEST_DOCKER},
                                    image["manifest"]),
            f"/v2/app/blobs/{image['config_digest']}": (200, {}, image["config"]),
            f"/v2/app/blobs/{image['layer_digest']}": layer_answer}


def pull_error(engine, reference, policy) -> str:
    with pytest.raises(MoorError) as failure:
        engine.pull(reference, policy=policy)
    return failure.value.message


def test_what_a_policy_refuses():
    from runtime.image.distribution.policy import AddressPolicy, _host_networks
    policy = AddressPolicy(deny=["10.0.0.0/8", "192.0.2.7", "localhost"],
                           allow=["127.0.0.1:5000", "198.51.100.0/24"])
    cases = [("127.0.0.1", 80, False), ("127.3.2.1", 5000, False), ("::1", 80, False),
             ("::ffff:127.0.0.1", 80, False), ("0.0.0.0", 80, False),
             ("169.254.169.254", 80, False), ("fe80::1", 80, False), ("10.9.8.7", 443, False),
             ("192.0.2.7", 443, False), ("127.0.0.1", 5000, True), ("203.0.113.9", 443, True),
             ("198.51.100.3", 22, True)]
    assert [(text, port, policy.permits(ipaddress.ip_address(text), port))
            for text, port, _ in cases] == cases
    # A denied name is refused as written, wherever it points.
    assert not policy.permits(ipaddress.ip_address("203.0.113.9"), 443, "localhost")
    # The host's own addresses (and its bridges' subnets), whatever interface has them.
    own = [n for n in _host_networks() if n.num_addresses == 1 and not n.is_loopback]
    assert own, "this host has an address besides loopback"
    for network in own:
        assert not policy.permits(network.network_address, 443), network
    assert AddressPolicy(local=False).permits(ipaddress.ip_address("127.0.0.1"), 80)
    with pytest.raises(InvalidArgument):
        AddressPolicy(deny=["not a host!"])


@pytest.mark.privileged
def test_a_policy_pull_never_connects_to_the_hosts_own_addresses(other):
    """Not to an HTTP server, nor to what speaks another protocol (Redis, say), nor to a
    closed port, by address or by a name that resolves there: one message for all, and
    nothing listening was ever connected to."""
    from runtime.image.distribution.policy import AddressPolicy
    redis_like = ScriptedServer([(b"-ERR unknown command 'GET'\r\n", True)])
    try:
        with FakeRegistry({"/v2/": REGISTRY_PING}) as web:
            addresses = [web.address, f"127.0.0.1:{redis_like.port}",
                         f"127.0.0.1:{free_port()}", f"localhost:{redis_like.port}"]
            errors = [pull_error(other, f"{address}/app:1", AddressPolicy())
                      for address in addresses]
    finally:
        redis_like.close()
    assert errors == [AddressPolicy.unreachable(address) for address in addresses]
    assert web.requests == [] and redis_like.connections == 0


@pytest.mark.privileged
def test_what_answers_at_a_permitted_address_is_not_told_unless_a_registry(other):
    """Permitted addresses where a web server, another protocol or nothing answers fail
    alike; moor pull on the host (no policy) says what it found, as before."""
    from runtime.image.distribution.policy import AddressPolicy
    policy = AddressPolicy(allow=["127.0.0.1"])
    redis_like = ScriptedServer([(b"-ERR unknown command 'GET'\r\n", True)] * 2)
    try:
        with FakeRegistry({}) as web:
            addresses = [web.address, f"127.0.0.1:{redis_like.port}", f"127.0.0.1:{free_port()}"]
            errors = [pull_error(other, f"{address}/app:1", policy) for address in addresses]
            unrestricted = [pull_error(other, f"{address}/app:1", None)
                            for address in addresses]
    finally:
        redis_like.close()
    assert errors == [AddressPolicy.unreachable(address) for address in addresses]
    assert [(method, path) for method, path, _ in web.requests] == [
        ("GET", "/v2/"), ("GET", "/v2/app/manifests/1")]
    assert len(set(unrestricted)) == 3          # what moor pull says tells them apart


@pytest.mark.privileged
def test_a_redirect_cannot_take_a_policy_pull_where_it_may_not_go(other):
    from runtime.image.distribution.policy import AddressPolicy
    image = tiny_image()
    layer_path = f"/cdn/{image['layer_digest']}"
    with FakeRegistry({layer_path: (200, {}, b"not the layer")}) as elsewhere:
        redirect = (307, {"Location": f"http://{elsewhere.address}{layer_path}"}, b"")
        with FakeRegistry(registry_routes(image, redirect)) as fake:
            reference = f"{fake.address}/app:1"
            # Only the registry's own port is permitted: the redirect is refused.
            refused = pull_error(other, reference, AddressPolicy(allow=[fake.address]))
            assert elsewhere.requests == []
            # Permitted, the redirect's target answers with the wrong bytes: the same words.
            wrong = pull_error(other, reference, AddressPolicy(allow=["127.0.0.1"]))
            assert [path for _, path, _ in elsewhere.requests] == [layer_path]
            assert pull_error(other, reference, None) == (
                f"filesystem layer verification failed for digest {image['layer_digest']}")
    assert refused == wrong == AddressPolicy.unreachable(fake.address)


@pytest.mark.privileged
def test_a_policy_pull_from_a_registry_it_permits_works(engine, other, repo, registry):
    from runtime.image.distribution.policy import AddressPolicy
    image_id = unique_image(engine, repo + ":1")
    assert moor_at(engine, "push", repo + ":1").returncode == 0
    denied = pull_error(other, repo + ":1", AddressPolicy(deny=[registry.address]))
    assert denied == AddressPolicy.unreachable(registry.address)
    assert other.pull(repo + ":1", policy=AddressPolicy(allow=[registry.address])) == image_id
    assert other.pull(repo + ":1", policy=AddressPolicy(allow=["localhost"])) == image_id
