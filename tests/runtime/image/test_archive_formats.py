"""The archive formats users receive, in round trips through skopeo (and Debian's
docker-registry): OCI archives and layout directories for `load`, `save --format
oci-archive`, docker-archives with `docker.io/library/` names, zstd layers in `load` and
`pull`. Each loaded image must run."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import pytest

from runtime.api import Engine
from tests.runtime.conftest import REPOSITORY, destroy_root
from tests.runtime.image.test_registry import unique_image
from tests.runtime.registry_fixture import Registry, private_mounts

pytestmark = pytest.mark.privileged


def skopeo(*args):
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    result = subprocess.run(private_mounts(["skopeo", "--insecure-policy", *args]),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def other():
    """A fresh engine root, as another host: nothing of the source's layers is there."""
    engine = Engine(tempfile.mkdtemp(prefix="moorage-test-formats-"))
    engine.paths.ensure()
    try:
        yield engine
    finally:
        destroy_root(engine)


def moor_at(engine: Engine, *args):
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
                          env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def saved(engine, tmp_path):
    """An image of its own (`fmt/app:1`, /unique holds its words), saved by moor as an
    OCI archive."""
    image_id = unique_image(engine, "fmt/app:1", "formats")
    path = tmp_path / "oci.tar"
    result = moor_at(engine, "save", "--format", "oci-archive", "-o", str(path), "fmt/app:1")
    assert result.returncode == 0, result.stderr
    yield path, image_id
    engine.remove_image("fmt/app:1", force=True)


def runs(engine: Engine, reference: str) -> str:
    result = moor_at(engine, "run", "--rm", "--pull", "never", "--network", "none", reference,
                     "cat", "/unique")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_save_as_oci_archive_is_an_oci_layout_alone(saved):
    path, image_id = saved
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        index = json.load(tar.extractfile("index.json"))
        layout = json.load(tar.extractfile("oci-layout"))
    assert "manifest.json" not in names and "repositories" not in names
    assert layout == {"imageLayoutVersion": "1.0.0"}
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "fmt/app:1"
    assert f"blobs/sha256/{image_id[7:]}" in names


def test_skopeo_reads_what_moor_saved_and_moor_loads_it_back(saved, other, tmp_path):
    path, image_id = saved
    skopeo("copy", f"oci-archive:{path}:fmt/app:1", f"oci:{tmp_path}/copy:fmt/app:2")
    assert moor_at(other, "load", "-i", str(path)).stdout == "Loaded image: fmt/app:1\n"
    assert moor_at(other, "image", "inspect", "-f", "{{.Id}}", "fmt/app:1").stdout == \
        image_id + "\n"
    assert runs(other, "fmt/app:1") == "formats\n"


def test_a_docker_archive_with_docker_hub_names_runs_under_its_short_name(saved, other,
                                                                           tmp_path):
    path, image_id = saved
    archive = tmp_path / "docker.tar"
    skopeo("copy", f"oci-archive:{path}", f"docker-archive:{archive}:docker.io/library/fmt:2")
    with tarfile.open(archive) as tar:
        assert json.load(tar.extractfile("manifest.json"))[0]["RepoTags"] == \
            ["docker.io/library/fmt:2"]
    with open(archive, "rb") as stream:
        loaded = subprocess.run([sys.executable, "-m", "runtime", "load"], cwd=REPOSITORY,
                                env={**os.environ, "MOORAGE_ROOT": other.paths.root},
                                stdin=stream, capture_output=True, text=True, timeout=120)
    assert (loaded.returncode, loaded.stdout) == (0, "Loaded image: fmt:2\n"), loaded.stderr
    assert moor_at(other, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout == \
        f"fmt:2 {image_id[7:19]}\n"
    assert runs(other, "fmt:2") == "formats\n"
    assert runs(other, "docker.io/library/fmt:2") == "formats\n"


def test_zstd_layers_in_an_oci_layout_directory_and_an_oci_archive(saved, other, tmp_path):
    path, image_id = saved
    skopeo("copy", "--dest-compress-format", "zstd", f"oci-archive:{path}",
           f"oci:{tmp_path}/layout:fmt:zstd")
    with open(tmp_path / "layout" / "index.json") as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(tmp_path / "layout" / "blobs" / "sha256" / manifest_digest[7:]) as f:
        layers = json.load(f)["layers"]
    assert {layer["mediaType"] for layer in layers} == {
        "application/vnd.oci.image.layer.v1.tar+zstd"}
    assert moor_at(other, "load", "-i", str(tmp_path / "layout")).stdout == \
        "Loaded image: fmt:zstd\n"
    assert runs(other, "fmt:zstd") == "formats\n"

    third = Engine(tempfile.mkdtemp(prefix="moorage-test-formats-"))
    try:
        skopeo("copy", "--dest-compress-format", "zstd", f"oci-archive:{path}",
               f"oci-archive:{tmp_path}/zstd.tar:docker.io/library/fmt:zstd2")
        assert moor_at(third, "load", "-i", str(tmp_path / "zstd.tar")).stdout == \
            "Loaded image: fmt:zstd2\n"
        assert runs(third, "fmt:zstd2") == "formats\n"
    finally:
        destroy_root(third)


def test_a_zstd_image_is_pulled_and_runs(saved, other):
    path, image_id = saved
    registry = Registry().start()
    try:
        reference = f"{registry.address}/fmt/zstd:1"
        skopeo("copy", "--format", "oci", "--dest-compress-format", "zstd",
               "--dest-tls-verify=false", f"oci-archive:{path}", f"docker://{reference}")
        pulled = moor_at(other, "pull", reference)
        assert pulled.returncode == 0, pulled.stderr
        assert moor_at(other, "image", "inspect", "-f", "{{.Id}}", reference).stdout == \
            image_id + "\n"
        assert runs(other, reference) == "formats\n"
        # Pushed again, the zstd layer goes as gzip, which any client reads.
        again = f"{registry.address}/fmt/again:1"
        assert moor_at(other, "tag", reference, again).returncode == 0
        pushed = moor_at(other, "push", again)
        assert pushed.returncode == 0, pushed.stderr
        status, _, body = registry.http("GET", "/v2/fmt/again/manifests/1", headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json"})
        assert status == 200
        assert {layer["mediaType"] for layer in json.loads(body)["layers"]} == {
            "application/vnd.oci.image.layer.v1.tar+gzip"}
    finally:
        registry.stop()


def test_load_refuses_a_blob_that_is_not_the_one_named(saved, other, tmp_path):
    path, _ = saved
    layout = tmp_path / "tampered"
    skopeo("copy", f"oci-archive:{path}", f"oci:{layout}:fmt:t")
    with open(layout / "index.json") as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(layout / "blobs" / "sha256" / manifest_digest[7:]) as f:
        layer = json.load(f)["layers"][-1]["digest"]
    blob = layout / "blobs" / "sha256" / layer[7:]
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    before = sorted(os.listdir(other.paths.layers))
    result = moor_at(other, "load", "-i", str(layout))
    assert (result.returncode, result.stderr) == (
        1, f"Error: invalid image archive: blob {layer} does not match its digest\n")
    assert sorted(os.listdir(other.paths.layers)) == before
    assert moor_at(other, "images", "-q").stdout == ""
    assert hashlib.sha256(bytes(data)).hexdigest() != layer[7:]


def test_an_archive_that_is_neither_format_is_one_line(other, tmp_path):
    path = tmp_path / "plain.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 0
        tar.addfile(info)
    result = moor_at(other, "load", "-i", str(path))
    assert (result.returncode, result.stderr) == (
        1, "Error: invalid image archive: it has neither manifest.json (a Docker archive) "
           "nor index.json (an OCI layout)\n")
