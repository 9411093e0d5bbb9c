"""Images: the offline busybox image, listing, tag, rmi, import/export, save/load, and the
store's guarantees (shared layers, atomic writes, hostile archives refused)."""

import io
import json
import os
import subprocess
import tarfile

import pytest

from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.image import reference

pytestmark = pytest.mark.privileged


def test_bootstrap_is_reproducible(engine):
    first = engine.image_id("busybox")
    assert engine.bootstrap_busybox() == first
    config = engine.store.config(first)
    assert config["config"]["Cmd"] == ["sh"]
    assert len(config["rootfs"]["diff_ids"]) == 1


def test_images_lists_tags_and_sizes(engine, moor):
    table = moor("images").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(line for line in table if line.startswith("busybox"))
    assert row.split()[1] == "latest"
    assert row.split()[2] == engine.image_id("busybox")[7:19]
    assert moor("images", "-q", "--no-trunc").stdout.split().count(
        engine.image_id("busybox")) == 1


def test_tag_and_rmi_of_one_of_several_tags(engine, moor):
    moor("tag", "busybox", "mybox:1", check=True)
    assert engine.image_id("mybox:1") == engine.image_id("busybox")
    assert moor("rmi", "mybox:1").stdout == "Untagged: mybox:1\n"
    assert engine.image_id("busybox")
    with pytest.raises(NotFound):
        engine.image_id("mybox:1")


def test_rmi_is_refused_while_a_container_uses_the_image(engine, moor, run_and_wait):
    container_id, _ = run_and_wait(["sh", "-c", "echo x > /x"])
    image_id = moor("commit", container_id, "inuse:1", check=True).stdout.strip()
    child = engine.create({"image": "inuse:1", "cmd": ["true"]})
    result = moor("rmi", "inuse:1")
    assert result.returncode == 1 and "must force" in result.stderr
    running = engine.run({"image": "inuse:1", "cmd": ["sleep", "100"]})
    forced = moor("rmi", "-f", "inuse:1")
    assert forced.returncode == 1 and "running container" in forced.stderr
    engine.remove(running, force=True)
    forced = moor("rmi", "-f", "inuse:1")
    assert forced.returncode == 0, forced.stderr
    assert f"Deleted: {image_id}" in forced.stdout
    # the stopped container keeps working from its layers
    engine.start(child)
    assert engine.wait(child) == 0


def test_rmi_removes_unshared_layers_only(engine, moor, run_and_wait):
    container_id, _ = run_and_wait(["sh", "-c", "echo y > /y"])
    image_id = moor("commit", container_id, "layered:1", check=True).stdout.strip()
    engine.remove(container_id)
    own_layer = engine.store.layers(image_id)[-1]
    base_layer = engine.store.layers(image_id)[0]
    moor("rmi", "layered:1", check=True)
    assert not engine.store.has_layer(own_layer)
    assert engine.store.has_layer(base_layer)


def test_rmi_by_id_with_several_tags_needs_force(engine, moor):
    moor("tag", "busybox", "twice:a", check=True)
    image_id = engine.image_id("busybox")
    result = moor("rmi", image_id[7:19])
    assert result.returncode == 1 and "referenced in multiple repositories" in result.stderr
    moor("rmi", "twice:a", check=True)


@pytest.mark.parametrize("text", ["UPPER/case", "a//b", "name:tag!", "-lead", "x" * 300,
                                  "name@sha256:zz", "with space", "new\nline", ""])
def test_bad_references_are_refused(text):
    with pytest.raises(InvalidArgument):
        reference.parse(text)


def test_references_are_normalised():
    assert str(reference.parse("busybox")) == "busybox:latest"
    parsed = reference.parse("127.0.0.1:5000/team/app:1.2")
    assert (parsed.registry, parsed.repository, parsed.tag) == ("127.0.0.1:5000", "team/app", "1.2")


def test_export_then_import_gives_the_same_files(engine, moor, tmp_path, run_and_wait):
    container_id, _ = run_and_wait(["sh", "-c", "echo exported > /marker"])
    archive = tmp_path / "fs.tar"
    moor("export", "-o", str(archive), container_id, check=True)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "marker" in names and "bin/busybox" in names
    result = moor("import", "-c", 'CMD ["cat", "/marker"]', "-m", "imported", str(archive),
                  "imported:1")
    assert result.returncode == 0, result.stderr
    child = engine.run({"image": "imported:1"})
    assert engine.wait(child) == 0
    assert b"".join(r.data for r in engine.logs(child)) == b"exported\n"
    assert engine.history("imported:1")[0]["Comment"] == "imported"


def test_import_refuses_a_hostile_tar_and_leaves_the_store_as_it_was(engine, moor, tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        evil = tarfile.TarInfo("../../evil")
        data = b"pwned"
        evil.size = len(data)
        tar.addfile(evil, io.BytesIO(data))
    before = (sorted(engine.store.image_ids()), sorted(os.listdir(engine.paths.layers)))
    result = moor("import", str(archive), "evil:1")
    assert result.returncode == 1 and "breakout" in result.stderr
    assert (sorted(engine.store.image_ids()), sorted(os.listdir(engine.paths.layers))) == before


def test_save_and_load_round_trip(engine, moor, tmp_path, run_and_wait):
    container_id, _ = run_and_wait(["sh", "-c", "echo saved > /saved"])
    image_id = moor("commit", "-m", "to save", container_id, "saved:1", check=True
                    ).stdout.strip()
    archive = tmp_path / "images.tar"
    moor("save", "-o", str(archive), "saved:1", check=True)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert "index.json" in tar.getnames() and "oci-layout" in tar.getnames()
    assert manifest[0]["RepoTags"] == ["saved:1"]
    engine.remove(container_id)
    moor("rmi", "saved:1", check=True)
    loaded = moor("load", "-i", str(archive))
    assert loaded.stdout == "Loaded image: saved:1\n", loaded.stderr
    assert engine.image_id("saved:1") == image_id
    child, code = run_and_wait(["cat", "/saved"], image="saved:1")
    assert code == 0


def _archive_with(tmp_path, manifest, members: dict[str, bytes]):
    path = tmp_path / "hostile.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in {"manifest.json": json.dumps(manifest).encode(), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_load_refuses_a_layer_that_is_not_the_declared_one(engine, moor, tmp_path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("file")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
                         "config": {}}).encode()
    path = _archive_with(tmp_path, [{"Config": "config.json", "RepoTags": ["liar:1"],
                                     "Layers": ["layer.tar"]}],
                         {"config.json": config, "layer.tar": layer.getvalue()})
    before = sorted(os.listdir(engine.paths.layers))
    result = moor("load", "-i", str(path))
    assert result.returncode == 1 and "hashes to" in result.stderr
    assert sorted(os.listdir(engine.paths.layers)) == before
    with pytest.raises(NotFound):
        engine.image_id("liar:1")


def test_load_refuses_paths_outside_the_archive(engine, moor, tmp_path):
    path = _archive_with(tmp_path, [{"Config": "../../../etc/passwd", "RepoTags": [],
                                     "Layers": []}], {})
    result = moor("load", "-i", str(path))
    assert result.returncode == 1 and "missing" in result.stderr


def test_a_crash_mid_write_never_shows_a_half_image(engine, moor):
    # Debris of an interrupted write lives under tmp/ and is invisible to `images`.
    staging = os.path.join(engine.paths.tmp, "stage-crashed")
    os.makedirs(os.path.join(staging, "diff"))
    try:
        listed = moor("images", "-q", "--no-trunc").stdout.split()
        assert set(listed) <= set(engine.store.image_ids())
        os.utime(staging, (0, 0))
        found = moor("system", "gc").stdout
        assert "stage-crashed" in found
        assert not os.path.exists(staging)
    finally:
        subprocess.run(["rm", "-rf", staging])


def test_layers_are_shared_between_images(engine, moor, run_and_wait):
    ids = []
    for index in range(2):
        container_id, _ = run_and_wait(["sh", "-c", f"echo {index} > /n"])
        ids.append(moor("commit", container_id, f"shared:{index}", check=True).stdout.strip())
    base = engine.store.layers(engine.image_id("busybox"))[0]
    assert engine.store.layers(ids[0])[0] == engine.store.layers(ids[1])[0] == base
    with pytest.raises(Conflict):
        engine.store.remove_image(ids[0], set())  # still tagged


def test_rmi_also_removes_untagged_intermediate_images(engine, moor, run_and_wait):
    first, _ = run_and_wait(["sh", "-c", "echo 1 > /one"])
    middle = moor("commit", first, check=True).stdout.strip()  # untagged, like a build step
    second, _ = run_and_wait(["sh", "-c", "echo 2 > /two"], image=middle)
    top = moor("commit", second, "stacked:1", check=True).stdout.strip()
    engine.remove(first)
    engine.remove(second)
    output = moor("rmi", "stacked:1", check=True).stdout
    assert f"Deleted: {top}" in output and f"Deleted: {middle}" in output
    assert not engine.store.exists(middle)
    assert engine.store.exists(engine.image_id("busybox"))


def test_a_deep_image_runs(engine, tmp_path):
    """120 layers: the overlay mount options must still fit in one page (short links)."""
    import json as jsonlib

    from runtime.image import layers as layer_store
    store = engine.store
    base = store.config(engine.image_id("busybox"))
    diff_ids = list(base["rootfs"]["diff_ids"])
    chains = store.layers(engine.image_id("busybox"))
    with store.lock():
        for index in range(120):
            staged = os.path.join(engine.paths.tmp, f"deep-{index}")
            os.makedirs(os.path.join(staged, "deep"))
            with open(os.path.join(staged, "deep", f"layer-{index:03d}"), "w") as f:
                f.write(f"{index}\n")
            diff_id, chain = layer_store.add_directory(store, staged, chains[-1])
            diff_ids.append(diff_id)
            chains.append(chain)
        config = dict(base, rootfs={"type": "layers", "diff_ids": diff_ids},
                      history=base["history"] + [{"created_by": f"layer {i}"}
                                                 for i in range(120)])
        image_id = store.add_image(jsonlib.dumps(config).encode(),
                                   parent=engine.image_id("busybox"))
        store.tag(image_id, "deep:120")
    container_id = engine.run({"image": "deep:120", "cmd": [
        "sh", "-c", "ls /deep | wc -l; cat /deep/layer-000 /deep/layer-119"]})
    assert engine.wait(container_id) == 0
    assert b"".join(r.data for r in engine.logs(container_id)) == b"120\n0\n119\n"
    engine.remove(container_id)
    engine.remove_image("deep:120")


def test_prune_removes_stopped_containers_and_dangling_images(engine, moor, run_and_wait):
    running = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    stopped, _ = run_and_wait(["sh", "-c", "echo x > /x"])
    dangling = moor("commit", stopped, check=True).stdout.strip()
    kept = moor("commit", stopped, "kept:1", check=True).stdout.strip()
    refused = moor("system", "prune")
    assert refused.returncode == 1 and "--force" in refused.stderr
    output = moor("system", "prune", "-f", check=True).stdout
    assert stopped in output and running not in output
    assert f"deleted: {dangling}" in output
    assert engine.store.exists(kept) and not engine.store.exists(dangling)
    assert engine.inspect(running)["State"]["Running"]
    output = moor("image", "prune", "-a", "-f", check=True).stdout
    assert f"deleted: {kept}" in output and "untagged: kept:1" in output
    assert engine.image_id("busybox")  # a running container uses it
    engine.remove(running, force=True)


def test_a_reader_that_stops_early_is_not_an_error(engine):
    """`moor export c | head -c 100`: no error message, no traceback."""
    import sys

    from tests.runtime.conftest import REPOSITORY

    container_id = engine.create({"image": "busybox", "cmd": ["true"]})
    process = subprocess.Popen([sys.executable, "-m", "runtime", "export", container_id],
                               cwd=REPOSITORY, env={**os.environ,
                                                    "MOORAGE_ROOT": engine.paths.root},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(process.stdout.read(100)) == 100
    process.stdout.close()
    _, stderr = process.communicate(timeout=30)
    assert (process.returncode, stderr) == (0, b"")
    engine.remove(container_id)
