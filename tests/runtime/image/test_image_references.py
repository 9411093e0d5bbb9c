"""Image references as Docker resolves them, through the `moor` command a script would run:
Docker Hub's spellings of one name, `name@sha256:...` after a pull or a push (RepoDigests,
`images --digests`), and `run`/`create` pulling what is missing (`--pull`) from Debian's
docker-registry on a loopback port, spoken to over plain HTTP as `moor pull` does."""

import json
import os
import re
import subprocess
import sys

import pytest

from runtime.api import Engine
from tests.runtime.conftest import REPOSITORY, destroy_root
from tests.runtime.image.test_registry import unique_image
from tests.runtime.registry_fixture import Registry

pytestmark = pytest.mark.privileged

HUB_SPELLINGS = ["refs:1", "library/refs:1", "docker.io/library/refs:1",
                 "index.docker.io/library/refs:1", "docker.io/refs:1"]


@pytest.fixture(scope="module")
def registry():
    the_registry = Registry()
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


@pytest.fixture
def other():
    """A second engine root, as another host; removed with everything in it."""
    import tempfile
    engine = Engine(tempfile.mkdtemp(prefix="moorage-test-refs-"))
    engine.paths.ensure()
    try:
        yield engine
    finally:
        destroy_root(engine)


_numbers = iter(range(1, 1_000_000))


@pytest.fixture
def repo(registry):
    return f"{registry.address}/refs{os.getpid()}-{next(_numbers)}/app"


def moor_at(engine: Engine, *args):
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
                          env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
                          capture_output=True, text=True, timeout=120)


def manifest_digest(registry, repository_path: str, tag: str) -> str:
    status, headers, _ = registry.http("HEAD", f"/v2/{repository_path}/manifests/{tag}", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200
    return headers["Docker-Content-Digest"]


def test_docker_hubs_spellings_are_one_name(engine, moor):
    image_id = engine.image_id("busybox")
    for spelling in HUB_SPELLINGS:
        moor("tag", "busybox", spelling, check=True)
        listed = moor("images", "--format", "{{.Repository}}:{{.Tag}}", "refs")
        assert listed.stdout == "refs:1\n", spelling
    try:
        for spelling in HUB_SPELLINGS:
            assert moor("inspect", "-f", "{{.Id}}", spelling).stdout == f"{image_id}\n"
            assert moor("image", "inspect", "-f", "{{.Id}}", spelling).stdout == image_id + "\n"
        result = moor("run", "--rm", "--pull", "never", "index.docker.io/library/refs:1",
                      "echo", "ran")
        assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
        assert moor("images", "--format", "{{.Repository}}:{{.Tag}}",
                    "docker.io/library/refs").stdout == "refs:1\n"
    finally:
        assert moor("rmi", "docker.io/library/refs:1").stdout == "Untagged: refs:1\n"


def test_a_pushed_image_has_its_repo_digest(engine, registry, repo, moor):
    image_id = unique_image(engine, repo + ":1")
    assert moor("push", "-q", repo + ":1").returncode == 0
    digest = manifest_digest(registry, repo.split("/", 1)[1], "1")
    assert moor("inspect", "-f", "{{json .RepoDigests}}", repo + ":1").stdout == \
        json.dumps([f"{repo}@{digest}"]) + "\n"
    table = moor("images", "--digests", repo).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED",
                                "SIZE"]
    assert table[1].split()[:4] == [repo, "1", digest, image_id[7:19]]
    # A template that shows {{.Digest}} gets the digests without --digests, as Docker's.
    assert moor("images", "--format", "{{.Tag}} {{.Digest}}", repo).stdout == f"1 {digest}\n"
    assert moor("images", "--format", "{{.Repository}} {{.Tag}}", repo).stdout == \
        f"{repo} 1\n"
    # rmi of its only tag takes the digest of that repository with it, then the image.
    removed = moor("rmi", repo + ":1").stdout.splitlines()
    assert removed[:3] == [f"Untagged: {repo}:1", f"Untagged: {repo}@{digest}",
                           f"Deleted: {image_id}"]


def test_digest_references_work_for_every_verb_after_a_pull(engine, other, registry, repo,
                                                            tmp_path):
    image_id = unique_image(engine, repo + ":1", "by-digest")
    engine.push(repo + ":1")
    digest = manifest_digest(registry, repo.split("/", 1)[1], "1")
    pinned = f"{repo}@{digest}"

    pulled = moor_at(other, "pull", pinned)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.splitlines()[-1] == pinned
    assert moor_at(other, "inspect", "-f", "{{json .RepoTags}} {{json .RepoDigests}}",
                   pinned).stdout == f'[] ["{pinned}"]\n'
    assert moor_at(other, "images", "--digests", "--format",
                   "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}").stdout == \
        f"{repo} <none> {digest} {image_id[7:19]}\n"
    assert moor_at(other, "images", "--format", "{{.Repository}} {{.Tag}}|{{.Digest}}|").stdout \
        == f"{repo} <none>||\n"
    assert moor_at(other, "images", "--filter", "dangling=false", "-q").stdout == \
        image_id[7:19] + "\n"
    # A name:tag@digest is read by its digest, as Docker reads it.
    for text in (pinned, f"{repo}:other@{digest}"):
        ran = moor_at(other, "run", "--rm", "--pull", "never", "--network", "none", text,
                      "cat", "/unique")
        assert (ran.returncode, ran.stdout) == (0, "by-digest\n"), ran.stderr
        assert moor_at(other, "image", "inspect", "-f", "{{.Id}}", text).stdout == \
            image_id + "\n"
    assert moor_at(other, "tag", pinned, "local/copy:1").returncode == 0
    assert moor_at(other, "inspect", "-f", "{{.Id}}", "local/copy:1").stdout == image_id + "\n"
    saved = moor_at(other, "save", "-o", str(tmp_path / "pinned.tar"), pinned)
    assert saved.returncode == 0 and (tmp_path / "pinned.tar").stat().st_size > 0
    # rmi of the digest reference while a tag names the image: the reference alone goes.
    assert moor_at(other, "rmi", pinned).stdout == f"Untagged: {pinned}\n"
    assert moor_at(other, "inspect", "-f", "{{json .RepoDigests}}", "local/copy:1").stdout == \
        "[]\n"
    missing = moor_at(other, "inspect", pinned)
    assert (missing.returncode, missing.stderr) == (1, f"Error: No such object: {pinned}\n")


def test_run_and_create_pull_a_missing_image(engine, other, registry, repo):
    unique_image(engine, repo + ":1", "pulled-on-run")
    engine.push(repo + ":1")

    never = moor_at(other, "run", "--rm", "--pull", "never", repo + ":1", "true")
    assert (never.returncode, never.stderr) == (125, f"Error: No such image: {repo}:1\n")

    ran = moor_at(other, "run", "--rm", "--network", "none", repo + ":1", "cat", "/unique")
    assert (ran.returncode, ran.stdout) == (0, "pulled-on-run\n"), ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[0] == f"Unable to find image '{repo}:1' locally"
    assert lines[1] == f"1: Pulling from {repo.split('/', 1)[1]}"
    assert re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", lines[-2])
    assert lines[-1] == f"Status: Downloaded newer image for {repo}:1"
    assert not any("Using default tag" in line for line in lines)

    # Present now: no pull, unless asked for (`always`), which finds it up to date.
    again = moor_at(other, "create", "--name", "pull-always", "--pull", "always", "-q",
                    repo + ":1")
    assert (again.returncode, again.stderr) == (0, "")
    created = moor_at(other, "create", repo + ":1")
    assert (created.returncode, created.stderr) == (0, "")
    always = moor_at(other, "create", "--pull", "always", repo + ":1")
    assert always.stderr.splitlines()[-1] == f"Status: Image is up to date for {repo}:1"
    for container in (again.stdout, created.stdout, always.stdout):
        other.remove(container.strip())


def test_a_pull_that_fails_leaves_run_nothing_to_clean(other, registry):
    before = os.listdir(other.paths.containers)
    failed = moor_at(other, "run", "--rm", f"{registry.address}/nobody/here:1", "true")
    assert failed.returncode == 125
    assert failed.stderr.splitlines()[0] == \
        f"Unable to find image '{registry.address}/nobody/here:1' locally"
    assert failed.stderr.splitlines()[-1].startswith("Error: ")
    assert os.listdir(other.paths.containers) == before
    assert os.listdir(other.paths.tmp) == []
