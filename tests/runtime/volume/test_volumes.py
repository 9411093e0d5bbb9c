"""Named and anonymous volumes through the engine API and `moor`, with real containers:
made on first use, copy-up, VOLUME, `rm -v` and `--rm`, in-use refusal, commit/diff/cp,
tmpfs and `--mount`, prune, `system df`, gc, and what a hostile container or name can try."""

import concurrent.futures
import json
import os
import subprocess
import sys
import time

import pytest

from runtime.container import removal, state as records
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from runtime.volume import names, store
from tests.runtime.conftest import REPOSITORY
from tests.stack import wait_until

pytestmark = pytest.mark.privileged


@pytest.fixture
def volumes(engine):
    """The engine, and afterwards: the test's containers and volumes removed (volumes the
    session had before stay)."""
    before = set(store.Volumes(engine.paths).names())
    containers_before = {c.id for c in records.all_containers(engine)}
    yield engine
    for container in records.all_containers(engine):
        if container.id not in containers_before:
            removal.remove(engine, container, force=True, volumes=True)
    for name in set(store.Volumes(engine.paths).names()) - before:
        engine.volume_remove(name)


@pytest.fixture(scope="module")
def image_with_volume(engine_root):
    """`withvol:1`: /data owned by 1000:1000, mode 0750, with a file and a subdirectory, and
    `VOLUME /data`; also a file /etc/motd for "volume over a file"."""
    from runtime.api import Engine
    engine = Engine(engine_root)
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", (
        "mkdir -p /data/sub && echo from-image > /data/sub/file && ln -s sub/file /data/link"
        " && chown -R 1000:1000 /data && chmod 750 /data && chmod 640 /data/sub/file"
        " && echo motd > /etc/motd")]})
    assert engine.wait(container_id) == 0
    engine.commit(container_id, "withvol:1", changes=["VOLUME /data"])
    engine.remove(container_id)
    yield "withvol:1"
    engine.remove_image("withvol:1", force=True)


def run_to_end(engine, options) -> tuple[str, int, str]:
    container_id = engine.run({"image": "busybox", **options})
    code = engine.wait(container_id)
    output = "".join(r.data.decode() for r in engine.logs(container_id))
    return container_id, code, output


def sh(engine, script, **options) -> str:
    container_id, code, output = run_to_end(engine, {"cmd": ["sh", "-c", script], **options})
    assert code == 0, output
    engine.remove(container_id, volumes=True)
    return output


# -- named volumes --------------------------------------------------------------------------

def test_a_named_volume_is_made_on_first_use_and_outlives_its_containers(volumes):
    engine = volumes
    assert sh(engine, "echo kept > /data/file", binds=["keep-me:/data"]) == ""
    volume = engine.volume_inspect("keep-me")
    assert volume["Mountpoint"] == os.path.join(engine.paths.root, "volumes", "keep-me",
                                                 "_data")
    assert (volume["Driver"], volume["Scope"], volume["Labels"]) == ("local", "local", {})
    assert time.strptime(volume["CreatedAt"], "%Y-%m-%dT%H:%M:%SZ")
    assert sh(engine, "cat /data/file", binds=["keep-me:/data:ro"]) == "kept\n"
    assert "Read-only" in run_to_end(engine, {"cmd": ["sh", "-c", "touch /data/x 2>&1"],
                                              "binds": ["keep-me:/data:ro"]})[2]


@pytest.mark.parametrize("runtime", ["crun", "runc"])
def test_inspect_shows_mounts_and_host_config_as_docker(volumes, runtime, tmp_path):
    from runtime.container.oci import find_binary
    if not find_binary(runtime):
        pytest.skip(f"{runtime} is not installed")
    engine = volumes
    container_id = engine.run({
        "image": "busybox", "cmd": ["sleep", "60"], "runtime": runtime,
        "binds": [f"{tmp_path}:/host:ro", "named:/named"], "volumes": ["/anon"],
        "mounts": ["type=tmpfs,dst=/scratch,tmpfs-size=1m",
                   {"Type": "volume", "Source": "labelled", "Target": "/labelled",
                    "VolumeOptions": {"Labels": {"team": "blue"}}}],
        "tmpfs": ["/run:size=64k,mode=1770"]})
    document = engine.inspect(container_id)
    mounts = {m["Destination"]: m for m in document["Mounts"]}
    anonymous = mounts["/anon"]["Name"]
    assert len(anonymous) == 64
    assert mounts["/host"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/host",
                               "Mode": "ro", "RW": False, "Propagation": "rprivate"}
    assert mounts["/named"] == {
        "Type": "volume", "Name": "named", "Destination": "/named", "Driver": "local",
        "Source": os.path.join(engine.paths.root, "volumes", "named", "_data"),
        "Mode": "z", "RW": True, "Propagation": ""}
    assert (mounts["/anon"]["Mode"], mounts["/scratch"]["Type"]) == ("", "tmpfs")
    assert "/run" not in mounts  # --tmpfs shows in HostConfig.Tmpfs only, as Docker's
    host = document["HostConfig"]
    assert host["Binds"] == [f"{tmp_path}:/host:ro", "named:/named"]
    assert host["Tmpfs"] == {"/run": "size=64k,mode=1770"}
    assert [m["Target"] for m in host["Mounts"]] == ["/scratch", "/labelled"]
    assert document["Config"]["Volumes"] == {"/anon": {}}
    assert engine.volume_inspect("labelled")["Labels"] == {"team": "blue"}
    assert engine.volume_inspect(anonymous)["Labels"] == {names.ANONYMOUS_LABEL: ""}
    # ... and the container really has them.
    from tests.runtime.container.test_cp import _exec
    table = _exec(engine, container_id, "cat /proc/mounts")
    lines = {line.split()[1]: line.split() for line in table.splitlines()}
    assert "ro" in lines["/host"][3].split(",")
    assert lines["/scratch"][2] == "tmpfs" and "size=1024k" in lines["/scratch"][3]
    assert set(lines["/run"][3].split(",")) >= {"nosuid", "nodev", "noexec", "size=64k",
                                                "mode=1770"}
    for path in ("/named", "/anon", "/labelled"):
        assert path in lines
    engine.remove(container_id, force=True, volumes=True)
    assert anonymous not in engine_names(engine)
    assert {"named", "labelled"} <= set(engine_names(engine))


def engine_names(engine) -> list[str]:
    return [volume["Name"] for volume in engine.volumes()]


def test_volume_create_is_idempotent_and_safe_when_concurrent(volumes, moor):
    engine = volumes

    def create(_):
        return subprocess.run([sys.executable, "-m", "runtime", "volume", "create", "--label",
                               "a=b", "racy"], cwd=REPOSITORY, capture_output=True, text=True,
                              env={**os.environ, "MOORAGE_ROOT": engine.paths.root})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(8)))
    assert [(r.returncode, r.stdout) for r in results] == [(0, "racy\n")] * 8, results
    first = engine.volume_inspect("racy")
    again = engine.volume_create("racy", labels={"other": "x"})
    assert again == first  # as Docker: the volume that exists, unchanged
    assert [e for e in os.listdir(store.volumes_dir(engine.paths)) if e.startswith(".")] == []
    listed = moor("volume", "ls", "--filter", "label=a=b", check=True).stdout
    assert listed.splitlines() == ["DRIVER    VOLUME NAME", "local     racy"]  # Docker's columns
    anonymous = moor("volume", "create", check=True).stdout.strip()
    assert len(anonymous) == 64
    assert engine.volume_inspect(anonymous)["Labels"] == {names.ANONYMOUS_LABEL: ""}


# -- copy-up ---------------------------------------------------------------------------------

def test_volume_listings_and_documents_take_go_templates(volumes, moor):
    moor("volume", "create", "--label", "tier=db", "templated", check=True)
    listed = moor("volume", "ls", "--filter", "name=templated", "--format",
                  'table {{.Name}}\t{{.Label "tier"}}\t{{.Scope}}', check=True).stdout
    assert listed.splitlines() == ["VOLUME NAME   tier      SCOPE", "templated     db        local"]
    assert moor("volume", "inspect", "-f", "{{.Name}} {{index .Labels \"tier\"}}",
                "templated", check=True).stdout == "templated db\n"
    failed = moor("volume", "ls", "--format", "{{.Nope}}")
    assert failed.returncode == 1 and "Nope" in failed.stderr and failed.stdout == ""
    kinds = moor("system", "df", "--format", "{{.Type}}", check=True).stdout.splitlines()
    assert kinds == ["Images", "Containers", "Local Volumes", "Build Cache"]
    engine = volumes
    engine.volume_remove("templated")


def test_an_empty_volume_gets_the_images_files_with_owners_and_modes(volumes,
                                                                      image_with_volume):
    engine = volumes
    script = ("stat -c '%n %u:%g %a' /data /data/sub/file; readlink /data/link; "
              "cat /data/sub/file; echo mine > /data/sub/file")
    out = sh(engine, script, image=image_with_volume, binds=["filled:/data"])
    assert out == ("/data 1000:1000 750\n/data/sub/file 1000:1000 640\nsub/file\n"
                   "from-image\n")
    # Not empty any more: another image's files are not copied over what is there.
    assert sh(engine, "ls /data; cat /data/sub/file", binds=["filled:/data"]) == \
        "link\nsub\nmine\n"
    assert sh(engine, "cat /data/sub/file", image=image_with_volume,
              binds=["filled:/data"]) == "mine\n"


def test_nocopy_keeps_a_new_volume_empty(volumes, image_with_volume):
    engine = volumes
    assert sh(engine, "ls -A /data", image=image_with_volume,
              binds=["bare:/data:nocopy"]) == ""
    assert sh(engine, "ls -A /data", image=image_with_volume,
              mounts=["type=volume,src=bare2,dst=/data,volume-nocopy"]) == ""


def test_copy_up_keeps_extended_attributes(volumes, tmp_path):
    from runtime.volume import copyup
    source, target = tmp_path / "source", tmp_path / "target"
    (source / "dir").mkdir(parents=True)
    (source / "dir" / "file").write_text("x")
    os.setxattr(source / "dir" / "file", "user.colour", b"blue")
    os.setxattr(source / "dir", "user.kind", b"box")
    os.symlink("dir/file", source / "link")
    os.chown(source / "dir" / "file", 1234, 5678)
    target.mkdir()
    source_fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)
    target_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        copyup.copy_up(source_fd, target_fd)
    finally:
        os.close(source_fd)
        os.close(target_fd)
    assert os.getxattr(target / "dir" / "file", "user.colour") == b"blue"
    assert os.getxattr(target / "dir", "user.kind") == b"box"
    assert os.stat(target / "dir" / "file").st_uid == 1234
    assert os.readlink(target / "link") == "dir/file"


def test_a_volume_over_a_file_of_the_image_is_refused_and_leaves_nothing(volumes,
                                                                         image_with_volume):
    engine = volumes
    before = engine_names(engine)
    with pytest.raises(InvalidArgument, match="cannot mount volume over existing file"):
        engine.create({"image": image_with_volume, "binds": ["fresh:/etc/motd"]})
    assert engine_names(engine) == before  # neither `fresh` nor the anonymous /data one
    assert not [e for e in os.listdir(engine.paths.tmp)]


# -- anonymous volumes ----------------------------------------------------------------------

def test_image_volumes_are_anonymous_and_go_with_rm_v_but_named_ones_stay(volumes, moor,
                                                                          image_with_volume):
    engine = volumes
    container_id = engine.create({"image": image_with_volume, "cmd": ["true"],
                                  "binds": ["named-stays:/named"]})
    anonymous = [m["Name"] for m in engine.inspect(container_id)["Mounts"]
                 if m["Destination"] == "/data"][0]
    assert engine.volume_inspect(anonymous)["Labels"] == {names.ANONYMOUS_LABEL: ""}
    moor("rm", "-v", container_id, check=True)
    wait_until(lambda: anonymous not in engine_names(engine), what="the anonymous volume gone")
    assert "named-stays" in engine_names(engine)


def test_rm_without_v_keeps_anonymous_volumes(volumes, image_with_volume):
    engine = volumes
    container_id = engine.create({"image": image_with_volume, "cmd": ["true"]})
    anonymous = engine.inspect(container_id)["Mounts"][0]["Name"]
    assert anonymous not in [v["Name"] for v in engine.volumes({"dangling": "true"})]
    engine.remove(container_id)
    assert anonymous in [v["Name"] for v in engine.volumes({"dangling": ["true"]})]
    assert anonymous not in [v["Name"] for v in engine.volumes({"dangling": "false"})]


def test_auto_remove_takes_anonymous_volumes_but_not_named_ones(volumes, image_with_volume):
    engine = volumes
    container_id = engine.run({"image": image_with_volume, "cmd": ["true"],
                               "auto_remove": True, "binds": ["named-rm:/named"]})
    anonymous = engine.inspect(container_id)["Mounts"]
    anonymous = [m["Name"] for m in anonymous if m["Destination"] == "/data"][0]
    wait_until(lambda: anonymous not in engine_names(engine), what="--rm to take the volume")
    with pytest.raises(NotFound):
        engine.container(container_id)
    assert "named-rm" in engine_names(engine)


def test_a_failed_run_leaves_no_volume(volumes):
    engine = volumes
    before = engine_names(engine)
    with pytest.raises(MoorError) as failure:
        engine.run({"image": "busybox", "cmd": ["/no/such/program"],
                    "binds": ["only-for-this:/x"], "volumes": ["/anon"]})
    assert failure.value.status == 127
    assert engine_names(engine) == before


# -- in use --------------------------------------------------------------------------------

def test_a_volume_named_by_any_container_cannot_be_removed_even_forced(volumes, moor):
    engine = volumes
    running = engine.run({"image": "busybox", "cmd": ["sleep", "60"],
                          "binds": ["busy:/data"]})
    for force in (False, True):
        with pytest.raises(Conflict, match=f"remove busy: volume is in use - \\[{running}\\]"):
            engine.volume_remove("busy", force=force)
    engine.stop(running, timeout=0)
    result = moor("volume", "rm", "-f", "busy")
    assert result.returncode == 1
    assert result.stderr == f"Error: remove busy: volume is in use - [{running}]\n"
    pruned = moor("volume", "prune", "-a", "-f", check=True).stdout
    assert "busy" not in pruned.split() and "busy" in engine_names(engine)  # named: kept
    engine.remove(running)
    assert moor("volume", "rm", "busy", "no-such-volume").stderr == \
        "Error: No such volume: no-such-volume\n"
    assert "busy" not in engine_names(engine)
    assert moor("volume", "rm", "-f", "no-such-volume").returncode == 0


def test_volume_users_and_size_are_what_rm_and_df_see(volumes):
    """The console's sync reads who uses each volume and how large it is through these."""
    engine = volumes
    user = engine.create({"image": "busybox", "cmd": ["true"], "binds": ["counted:/data"]})
    sh(engine, "head -c 5000 /dev/zero > /data/a && ln /data/a /data/b", binds=["counted:/data"])
    assert engine.volume_users()["counted"] == [user]
    assert engine.volume_size("counted") == 5000 == next(
        v["UsageData"]["Size"] for v in engine.system_df()["Volumes"] if v["Name"] == "counted")
    engine.remove(user)
    assert "counted" not in engine.volume_users()
    engine.volume_remove("counted")
    assert engine.volume_size("counted") == 0


def test_prune_takes_unused_anonymous_volumes_or_with_all_every_unused_one(volumes, moor):
    engine = volumes
    anonymous = engine.volume_create()["Name"]
    engine.volume_create("unused-named", labels={"keep": "no"})
    engine.volume_create("kept-named", labels={"keep": "yes"})
    used = engine.create({"image": "busybox", "cmd": ["true"], "volumes": ["/in-use"]})
    in_use = engine.inspect(used)["Mounts"][0]["Name"]
    engine.volume_create("unlabelled")
    report = engine.volume_prune()
    assert report["VolumesDeleted"] == [anonymous]
    report = engine.volume_prune({"all": ["true"], "label!": ["keep=yes"], "label": ["keep"]})
    assert report["VolumesDeleted"] == ["unused-named"]
    out = moor("volume", "prune", "--all", "--force", "--filter", "label=keep=yes",
               check=True).stdout
    assert out == "Deleted Volumes:\nkept-named\n\nTotal reclaimed space: 0B\n"
    assert in_use in engine_names(engine)


# -- commit, diff, cp --------------------------------------------------------------------------

def test_commit_and_diff_leave_volume_contents_out(volumes, image_with_volume):
    engine = volumes
    container_id, code, _ = run_to_end(engine, {
        "image": image_with_volume, "binds": ["outside:/outside"],
        "cmd": ["sh", "-c", "echo v > /data/in-volume; echo n > /outside/named; "
                            "echo l > /in-layer"]})
    assert code == 0
    changes = {path for _, path, _ in engine.diff(container_id)}
    assert "/in-layer" in changes
    assert not [path for path in changes if path.startswith("/data/") or
                path.startswith("/outside/")]
    image = engine.commit(container_id, "committed-volumes:1")
    try:
        assert sh(engine, "ls /data /outside 2>&1; cat /in-layer", image=image) == \
            "/data:\nlink\nsub\n\n/outside:\nl\n"
    finally:
        engine.remove(container_id, volumes=True)
        engine.remove_image(image)


def test_cp_into_a_stopped_container_writes_into_its_volume(volumes, moor, tmp_path):
    engine = volumes
    container_id = engine.create({"image": "busybox", "cmd": ["sh", "-c", "cat /data/in"],
                                  "binds": ["cp-target:/data", f"{tmp_path}:/host"]})
    (tmp_path / "file").write_text("through the volume\n")
    moor("cp", str(tmp_path / "file"), f"{container_id}:/data/in", check=True)
    moor("cp", str(tmp_path / "file"), f"{container_id}:/host/copied", check=True)
    data = engine.volume_inspect("cp-target")["Mountpoint"]
    with open(os.path.join(data, "in")) as f:
        assert f.read() == "through the volume\n"
    assert (tmp_path / "copied").read_text() == "through the volume\n"
    assert {path for _, path, _ in engine.diff(container_id)} <= {"/data", "/host"}
    moor("cp", f"{container_id}:/data/in", str(tmp_path / "out"), check=True)
    assert (tmp_path / "out").read_text() == "through the volume\n"
    engine.start(container_id)
    assert engine.wait(container_id) == 0
    assert "".join(r.data.decode() for r in engine.logs(container_id)) == \
        "through the volume\n"


# -- hostile names and containers -------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../etc", "a/b", "..", ".x", "x", "a\nb"])
def test_malicious_volume_names_are_refused_before_anything_is_made(volumes, moor, name):
    engine = volumes
    with pytest.raises(InvalidArgument):
        engine.volume_create(name)
    with pytest.raises((InvalidArgument, NotFound)):
        engine.volume_inspect(name)
    with pytest.raises((InvalidArgument, NotFound)):
        engine.volume_remove(name)
    result = moor("run", "--rm", "-v", f"{name}:/x", "busybox", "true")
    assert result.returncode == 125 and len(result.stderr.splitlines()) == 1
    assert not os.path.exists(os.path.join(engine.paths.root, "etc"))


def test_symlinks_a_container_plants_in_a_volume_never_lead_the_engine_out(volumes, moor,
                                                                           tmp_path):
    engine = volumes
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep\n")
    sh(engine, f"ln -s {victim} /data/escape; ln -s / /data/root; mkdir /data/d; "
               f"ln -s {victim}/precious /data/d/file; "
               "i=0; p=/data/deep; while [ $i -lt 300 ]; do p=$p/x; i=$((i+1)); done; "
               "mkdir -p $p; echo end > $p/file", binds=["hostile:/data"])
    # cp into a stopped container follows the link inside the container, never the host's.
    container_id = engine.create({"image": "busybox", "cmd": ["true"],
                                  "binds": ["hostile:/data"]})
    payload = f"payload-{os.urandom(4).hex()}"
    (tmp_path / payload).write_text("payload\n")
    moor("cp", str(tmp_path / payload), f"{container_id}:/data/root/tmp/", check=True)
    # The host path the link names does not exist in the container: refused, not followed.
    refused = moor("cp", str(tmp_path / payload), f"{container_id}:/data/escape/precious")
    assert refused.returncode == 1 and "does not exist in the container" in refused.stderr
    assert not os.path.exists(f"/tmp/{payload}")
    assert (victim / "precious").read_text() == "keep\n"
    moor("cp", f"{container_id}:/tmp/{payload}", str(tmp_path / "back"), check=True)
    assert (tmp_path / "back").read_text() == "payload\n"
    engine.remove(container_id)
    usage = {v["Name"]: v["UsageData"] for v in engine.system_df()["Volumes"]}
    # The links' own sizes (their targets' lengths) and the deep file's 4 bytes.
    links = len(str(victim)) + len("/") + len(f"{victim}/precious")
    assert usage["hostile"] == {"Size": links + 4, "RefCount": 0}
    engine.volume_remove("hostile")
    assert (victim / "precious").read_text() == "keep\n"
    assert os.listdir(victim) == ["precious"] and os.path.isdir("/etc")


# -- system df, gc --------------------------------------------------------------------------

def test_system_df_counts_images_containers_volumes_and_build_cache(volumes, moor):
    engine = volumes
    sh(engine, "head -c 5000 /dev/zero > /data/blob", binds=["df-volume:/data"])
    usage = engine.system_df()
    assert set(usage) == {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
    volume = [v for v in usage["Volumes"] if v["Name"] == "df-volume"][0]
    assert volume["UsageData"] == {"Size": 5000, "RefCount": 0}
    busybox = [i for i in usage["Images"] if "busybox:latest" in i["RepoTags"]][0]
    assert busybox["Size"] > 0 and busybox["SharedSize"] <= busybox["Size"]
    table = moor("system", "df", check=True).stdout.splitlines()
    assert table[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split("   ")[0].strip() for line in table[1:]] == [
        "Images", "Containers", "Local Volumes", "Build Cache"]
    rows = [json.loads(line) for line in
            moor("system", "df", "--format", "json", check=True).stdout.splitlines()]
    assert rows[2]["Type"] == "Local Volumes" and int(rows[2]["TotalCount"]) >= 1
    verbose = moor("system", "df", "-v", check=True).stdout
    for heading in ("Images space usage:", "Containers space usage:",
                    "Local Volumes space usage:", "Build cache usage: "):
        assert heading in verbose
    assert [line.split() for line in verbose.splitlines() if line.startswith("df-volume")] \
        == [["df-volume", "0", "5kB"]]


def test_gc_sweeps_only_what_crashes_left_of_volumes(volumes):
    engine = volumes
    directory = store.volumes_dir(engine.paths)
    engine.volume_create("unused-but-kept")
    half_made = os.path.join(directory, store.CREATING + "deadbeef")
    os.makedirs(os.path.join(half_made, "_data", "x"))
    os.utime(half_made, (time.time() - 3600, time.time() - 3600))
    half_removed = os.path.join(directory, store.REMOVING + "deadbeef")
    os.makedirs(os.path.join(half_removed, "_data"))
    os.symlink("/etc", os.path.join(half_removed, "_data", "etc"))
    # A `rm -v` that died once the container was out of sight, before its volumes went.
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "volumes": ["/a"],
                                  "binds": ["named-survives:/n"]})
    anonymous = [m["Name"] for m in engine.inspect(container_id)["Mounts"]
                 if m["Destination"] == "/a"][0]
    container = engine.container(container_id)
    container.state["RemoveVolumes"] = True
    removal._disappear(engine, container)
    removal._forget_name(engine, container)
    found = engine.gc(dry_run=True)
    assert f"anonymous volume {anonymous} of removed container {container_id[:12]}" in found
    assert os.path.isdir(half_made)
    found = engine.gc()
    assert f"volume debris {half_made}" in found and f"volume debris {half_removed}" in found
    assert not os.path.exists(half_made) and not os.path.exists(half_removed)
    assert os.path.isdir("/etc")
    assert anonymous not in engine_names(engine)
    assert {"unused-but-kept", "named-survives"} <= set(engine_names(engine))


def test_the_command_line_flags_reach_the_container(volumes, moor, tmp_path):
    engine = volumes
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index").write_text("hello\n")
    created = subprocess.run(
        [sys.executable, "-m", "runtime", "create", "-v", "/anon", "-v", "./site:/srv:ro",
         "-v", "cli-named:/named", "--mount", "type=tmpfs,dst=/scratch,tmpfs-mode=700",
         "--mount", "type=bind,src=./site,dst=/mnt,readonly", "--tmpfs", "/run:size=1m",
         "busybox", "sh", "-c", "cat /srv/index /mnt/index; ls -A /named; "
                                "stat -c %a /scratch; touch /srv/x 2>&1"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "MOORAGE_ROOT": engine.paths.root, "PYTHONPATH": REPOSITORY})
    assert created.returncode == 0, created.stderr
    container_id = created.stdout.strip()
    mounts = {m["Destination"]: m for m in engine.inspect(container_id)["Mounts"]}
    assert mounts["/srv"]["Source"] == str(tmp_path / "site")
    assert mounts["/mnt"] == {"Type": "bind", "Source": str(tmp_path / "site"),
                              "Destination": "/mnt", "Mode": "", "RW": False,
                              "Propagation": "rprivate"}
    assert mounts["/anon"]["Type"] == "volume" and mounts["/named"]["Name"] == "cli-named"
    engine.start(container_id)
    assert engine.wait(container_id) != 0  # the read-only /srv refused the touch
    output = "".join(r.data.decode() for r in engine.logs(container_id))
    assert output.startswith("hello\nhello\n700\n") and "Read-only" in output
    bad = moor("create", "--tmpfs", "/run:size=lots", "busybox")
    assert (bad.returncode, bad.stderr) == (125, "Error: invalid tmpfs option 'size=lots'\n")
    bad = moor("create", "--mount", "type=bind,src=/no/such,dst=/x", "busybox")
    assert bad.returncode == 125 and "bind source path does not exist: /no/such" in bad.stderr


def test_system_prune_with_volumes_takes_unused_anonymous_ones(volumes, moor):
    engine = volumes
    stopped = engine.create({"image": "busybox", "cmd": ["true"], "volumes": ["/a"]})
    anonymous = engine.inspect(stopped)["Mounts"][0]["Name"]
    engine.volume_create("prune-keeps-named")
    out = moor("system", "prune", "--volumes", "-f", check=True).stdout
    assert f"Deleted Containers:\n{stopped}\n" in out
    assert f"Deleted Volumes:\n{anonymous}\n" in out
    assert "prune-keeps-named" in engine_names(engine)


def test_a_build_discards_what_its_steps_write_into_a_volume_and_leaves_none(volumes, moor,
                                                                            tmp_path):
    engine = volumes
    before = engine_names(engine)
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN mkdir /data && echo before > /data/f\nVOLUME /data\n"
        "RUN echo after > /data/f && echo layer > /outside\n")
    tag = f"volume-build:{os.urandom(4).hex()}"
    built = moor("build", "-t", tag, str(tmp_path))
    assert built.returncode == 0, built.stderr
    try:
        # Docker's classic builder: a step's changes under a declared VOLUME are discarded.
        assert sh(engine, "cat /data/f /outside", image=tag) == "before\nlayer\n"
        assert engine_names(engine) == before
    finally:
        engine.remove_image(tag)
