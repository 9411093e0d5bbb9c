"""Debian's docker CLI (20.10, API 1.41), unchanged, against `moor system service`: each verb
Moorage answers, through the real engine and real containers."""

import io
import json
import tarfile

import pytest

from tests.stack import wait_until

pytestmark = pytest.mark.privileged


def test_version_speaks_api_1_41(docker):
    out = docker("version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}} "
                 "{{.Server.MinAPIVersion}}").stdout.split()
    assert out == ["1.41", "1.41", "1.24"]
    assert "Server Version: 0.1.0" in docker("info").stdout


def test_run_detached_ps_logs_inspect_stop_rm(docker):
    container_id = docker("run", "-d", "--name", "web", "-e", "GREETING=hello", "-w", "/tmp",
                          "-l", "tier=front", "busybox", "sh", "-c",
                          "echo $GREETING from $(pwd); echo oops >&2; exec sleep 300"
                          ).stdout.strip()
    assert len(container_id) == 64
    assert docker("ps", "-q").stdout.split() == [container_id[:12]]
    assert docker("ps", "--format", "{{.Names}} {{.State}}").stdout.strip() == "web running"
    assert docker("ps", "-a", "--filter", "label=tier=front", "-q").stdout.strip() == \
        container_id[:12]
    assert docker("ps", "-a", "--filter", "label=tier=back", "-q").stdout.strip() == ""
    wait_until(lambda: "oops" in docker("logs", "web").stderr, what="the log")
    logs = docker("logs", "web")
    assert logs.stdout == "hello from /tmp\n" and logs.stderr == "oops\n"
    stamped = docker("logs", "-t", "--tail", "1", "web").stderr
    assert stamped.endswith(" oops\n") and stamped[:4].isdigit()
    document = json.loads(docker("inspect", "web").stdout)[0]
    assert document["Id"] == container_id and document["State"]["Running"]
    assert "GREETING=hello" in document["Config"]["Env"]
    assert docker("inspect", "-f", "{{.Config.WorkingDir}}", "web").stdout.strip() == "/tmp"
    docker("stop", "-t", "1", "web")
    assert docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                  "web").stdout.split() == ["exited", "137"]
    assert docker("wait", "web").stdout.strip() == "137"
    docker("rm", "web")
    assert docker("ps", "-a", "-q").stdout == ""


def test_run_attached_exit_status_and_rm(docker, engine):
    result = docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
                    check=False)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert engine.containers(all=True) == []


def test_run_with_stdin_and_limits(docker):
    result = docker("run", "--rm", "-i", "-m", "64m", "--cpus", "0.5", "-u", "1000:1000",
                    "busybox", "sh", "-c", "cat; id -u; cat /sys/fs/cgroup/memory/memory."
                    "limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
                    input="from stdin\n")
    lines = result.stdout.splitlines()
    assert lines[:2] == ["from stdin", "1000"]
    assert lines[2] == str(64 << 20)


def test_create_then_start_attached(docker):
    docker("create", "--name", "later", "-i", "busybox", "sh", "-c", "read line; echo got $line")
    result = docker("start", "-ai", "later", input="something\n")
    assert result.stdout == "got something\n"
    docker("rm", "later")


def test_terminal_run_and_exec(docker, tmp_path):
    """`run -it` and `exec -it` on a real pseudo-terminal (util-linux `script` gives the CLI
    one): the program sees a terminal, its exit status comes back."""
    docker("run", "-d", "--name", "box", "busybox", "sleep", "300")
    script = tmp_path / "typescript"
    result = docker_on_terminal(docker, "exec -it box sh -c 'tty; exit 6'", script)
    assert result.returncode == 6 and "/dev/pts/" in result.stdout
    result = docker_on_terminal(docker, "run -it --rm busybox sh -c 'tty; exit 5'", script)
    assert result.returncode == 5 and "/dev/pts/" in result.stdout
    docker("rm", "-f", "box")


def docker_on_terminal(docker, command: str, script):
    import subprocess

    from tests.service.conftest import DOCKER
    return subprocess.run(["script", "-qec", f"{DOCKER} {command}", str(script)],
                          capture_output=True, text=True, timeout=60, env=docker.environment)


def test_exec_streams_status_and_env(docker):
    docker("run", "-d", "--name", "box", "busybox", "sleep", "300")
    result = docker("exec", "-e", "X=1", "-w", "/etc", "box", "sh", "-c",
                    "echo $X $(pwd); echo err >&2; exit 4", check=False)
    assert (result.returncode, result.stdout, result.stderr) == (4, "1 /etc\n", "err\n")
    assert docker("exec", "-i", "box", "cat", input="piped\n").stdout == "piped\n"
    docker("exec", "-d", "box", "touch", "/tmp/detached")
    wait_until(lambda: docker("exec", "box", "ls", "/tmp/detached", check=False).returncode
               == 0, what="the detached exec")
    docker("rm", "-f", "box")


def test_lifecycle_verbs(docker):
    docker("run", "-d", "--name", "life", "busybox", "sleep", "300")
    top = docker("top", "life").stdout
    assert "sleep 300" in top and top.startswith("UID")
    stats = docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "life").stdout
    assert stats.strip() == "life 1"
    docker("pause", "life")
    assert docker("inspect", "-f", "{{.State.Status}}", "life").stdout.strip() == "paused"
    docker("unpause", "life")
    docker("rename", "life", "life2")
    assert docker("ps", "--format", "{{.Names}}").stdout.strip() == "life2"
    started = docker("inspect", "-f", "{{.State.StartedAt}}", "life2").stdout
    docker("restart", "-t", "1", "life2")
    assert docker("inspect", "-f", "{{.State.StartedAt}}", "life2").stdout != started
    docker("kill", "life2")
    assert docker("wait", "life2").stdout.strip() == "137"
    docker("rm", "life2")
    docker("run", "-d", "--name", "gone", "busybox", "true")
    docker("wait", "gone")
    pruned = docker("container", "prune", "-f").stdout
    assert docker("ps", "-a", "-q").stdout == "" and "Deleted Containers" in pruned


def test_cp_both_ways_diff_commit_history(docker, tmp_path):
    docker("run", "-d", "--name", "files", "busybox", "sleep", "300")
    source = tmp_path / "hello.txt"
    source.write_text("hello from the host\n")
    docker("cp", str(source), "files:/tmp/")
    docker("cp", str(source), "files:/tmp/renamed.txt")
    assert docker("exec", "files", "cat", "/tmp/hello.txt", "/tmp/renamed.txt").stdout == \
        "hello from the host\n" * 2
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a").write_text("a")
    docker("cp", str(tmp_path / "dir"), "files:/srv")
    assert docker("exec", "files", "cat", "/srv/a").stdout == "a"
    docker("cp", "files:/etc/hostname", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text().strip() == docker(
        "inspect", "-f", "{{.Id}}", "files").stdout.strip()[:12]
    docker("cp", "files:/srv", str(tmp_path / "back"))
    assert (tmp_path / "back" / "a").read_text() == "a"
    changes = docker("diff", "files").stdout.splitlines()
    assert "A /tmp/hello.txt" in changes and "A /srv" in changes
    image_id = docker("commit", "-m", "added files", "-c", "CMD [\"cat\", \"/tmp/hello.txt\"]",
                      "files", "withfiles:1").stdout.strip()
    assert image_id.startswith("sha256:")
    assert docker("run", "--rm", "withfiles:1").stdout == "hello from the host\n"
    history = docker("history", "--format", "{{.Comment}}", "withfiles:1").stdout
    assert history.splitlines()[0] == "added files"
    docker("rm", "-f", "files")
    docker("rmi", "withfiles:1")


def test_images_tag_rmi_save_load_import_export(docker, tmp_path):
    docker("tag", "busybox", "copy:1")
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "copy:1" in listed and "busybox:latest" in listed
    docker("save", "-o", str(tmp_path / "saved.tar"), "copy:1")
    docker("rmi", "copy:1")
    assert "copy:1" not in docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert "Loaded image: copy:1" in docker("load", "-i", str(tmp_path / "saved.tar")).stdout
    docker("rmi", "copy:1")
    docker("create", "--name", "flat", "busybox", "true")
    docker("export", "-o", str(tmp_path / "flat.tar"), "flat")
    with tarfile.open(tmp_path / "flat.tar") as archive:
        assert "bin/busybox" in archive.getnames()
    image_id = docker("import", str(tmp_path / "flat.tar"), "flat:imported").stdout.strip()
    assert image_id.startswith("sha256:")
    assert docker("run", "--rm", "flat:imported", "/bin/busybox", "echo", "imported"
                  ).stdout == "imported\n"
    docker("rm", "flat")
    docker("rmi", "flat:imported")
    assert docker("image", "prune", "-f").returncode == 0


def test_build_from_a_context(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nARG WHO=nobody\nCOPY hello.txt /\n"
                                         "RUN echo built for $WHO > /built\n"
                                         'CMD ["cat", "/hello.txt", "/built"]\n')
    (tmp_path / "hello.txt").write_text("context file\n")
    result = docker("build", "-t", "built:1", "--build-arg", "WHO=tests", str(tmp_path))
    assert "Step 1/5 : FROM busybox" in result.stdout
    assert "Successfully tagged built:1" in result.stdout
    assert docker("run", "--rm", "built:1").stdout == "context file\nbuilt for tests\n"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    failed = docker("build", str(broken), check=False)
    assert failed.returncode != 0 and "returned a non-zero code: 3" in failed.stderr
    docker("rmi", "built:1")


def test_networks(docker):
    network_id = docker("network", "create", "--label", "purpose=tests", "backend"
                        ).stdout.strip()
    assert "backend" in docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert json.loads(docker("network", "inspect", "backend").stdout)[0]["Id"] == network_id
    docker("run", "-d", "--name", "db", "--network", "backend", "busybox", "sleep", "300")
    docker("run", "-d", "--name", "app", "busybox", "sleep", "300")
    docker("network", "connect", "backend", "app")
    assert "backend" in docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                               "app").stdout
    assert docker("exec", "app", "ping", "-c", "1", "-W", "2", "db").returncode == 0
    docker("network", "disconnect", "backend", "app")
    busy = docker("network", "rm", "backend", check=False)
    assert busy.returncode != 0 and "active endpoints" in busy.stderr
    docker("rm", "-f", "db", "app")
    docker("network", "rm", "backend")
    docker("network", "create", "unused")
    assert "unused" in docker("network", "prune", "-f").stdout


def test_published_port_answers(docker):
    docker("run", "-d", "--name", "http", "-p", "127.0.0.1::8080", "busybox", "sh", "-c",
           "echo served > /tmp/index.html; exec httpd -f -p 8080 -h /tmp")
    address = docker("port", "http", "8080").stdout.strip()
    import urllib.request
    body = wait_until(lambda: urllib.request.urlopen(f"http://{address}/index.html",
                                                     timeout=2).read(), what="httpd")
    assert body == b"served\n"
    docker("rm", "-f", "http")


def test_system_df_answers(docker):
    assert "Images" in docker("system", "df").stdout


def test_unknown_object_errors_are_docker_shaped(docker):
    result = docker("inspect", "--type", "container", "nothing-here", check=False)
    assert result.returncode == 1 and "No such container: nothing-here" in result.stderr
    result = docker("rmi", "no-such-image:1", check=False)
    assert "No such image" in result.stderr
    result = docker("run", "--rm", "--cpuset-cpus", "0", "busybox", "true", check=False)
    assert result.returncode == 125 and "HostConfig.CpusetCpus is not supported" in \
        result.stderr


def test_archive_tar_stream(docker):
    docker("run", "-d", "--name", "tars", "busybox", "sleep", "300")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("streamed.txt")
        info.size = 6
        archive.addfile(info, io.BytesIO(b"piped\n"))
    import subprocess

    from tests.service.conftest import DOCKER
    env = docker.environment
    subprocess.run([DOCKER, "cp", "-", "tars:/tmp"], input=data.getvalue(), env=env,
                   check=True, capture_output=True)
    assert docker("exec", "tars", "cat", "/tmp/streamed.txt").stdout == "piped\n"
    out = subprocess.run([DOCKER, "cp", "tars:/tmp/streamed.txt", "-"], env=env, check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as archive:
        assert archive.extractfile("streamed.txt").read() == b"piped\n"
    docker("rm", "-f", "tars")


def test_logs_follow_and_since(docker):
    docker("run", "-d", "--name", "counter", "busybox", "sh", "-c",
           "for i in 1 2 3; do echo line $i; sleep 0.3; done")
    followed = docker("logs", "-f", "counter")
    assert followed.stdout == "line 1\nline 2\nline 3\n"
    assert docker("logs", "--since", "2100-01-01T00:00:00Z", "counter").stdout == ""
    assert docker("logs", "--since", "2000-01-01T00:00:00Z", "--tail", "2",
                  "counter").stdout == "line 2\nline 3\n"
    docker("rm", "counter")


def test_bind_mount(docker, tmp_path):
    (tmp_path / "shared.txt").write_text("from the host\n")
    result = docker("run", "--rm", "-v", f"{tmp_path}:/mnt/host:ro", "busybox", "sh", "-c",
                    "cat /mnt/host/shared.txt; touch /mnt/host/new 2>&1 || echo read-only")
    assert result.stdout.splitlines()[0] == "from the host"
    assert "read-only" in result.stdout.splitlines()[-1] or "Read-only" in result.stdout
    assert not (tmp_path / "new").exists()


def test_health_checks_run_in_the_service(docker, engine):
    docker("run", "-d", "--name", "checked", "--health-cmd", "test -f /tmp/ok",
           "--health-interval", "1s", "--health-retries", "2", "busybox", "sh", "-c",
           "touch /tmp/ok; exec sleep 300")
    assert json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck}}", "checked")
                      .stdout)["Test"] == ["CMD-SHELL", "test -f /tmp/ok"]
    wait_until(lambda: docker("inspect", "-f", "{{.State.Health.Status}}", "checked")
               .stdout.strip() == "healthy", what="a healthy container")
    assert docker("ps", "--filter", "health=healthy", "--format", "{{.Names}}").stdout == \
        "checked\n"
    assert docker("ps", "--filter", "health=unhealthy", "-q").stdout == ""
    assert "(healthy)" in docker("ps", "--format", "{{.Status}}").stdout
    docker("exec", "checked", "rm", "/tmp/ok")
    wait_until(lambda: docker("inspect", "-f", "{{.State.Health.Status}}", "checked")
               .stdout.strip() == "unhealthy", what="an unhealthy container")
    log = json.loads(docker("inspect", "-f", "{{json .State.Health.Log}}", "checked").stdout)
    assert log[-1]["ExitCode"] == 1
    bad = docker("ps", "--filter", "health=sickly", check=False)
    assert bad.returncode == 1 and "health" in bad.stderr
    docker("rm", "-f", "checked")


# -- volumes ---------------------------------------------------------------------------------

def test_volume_verbs(docker, engine):
    assert docker("volume", "create", "--label", "tier=db", "dbdata").stdout.strip() == "dbdata"
    assert docker("volume", "create", "dbdata").stdout.strip() == "dbdata"   # exists: given back
    assert docker("volume", "ls", "-q", "--filter", "label=tier=db").stdout.split() == \
        ["dbdata"]
    document = json.loads(docker("volume", "inspect", "dbdata").stdout)[0]
    assert (document["Name"], document["Driver"], document["Labels"]) == \
        ("dbdata", "local", {"tier": "db"})
    assert document["Mountpoint"] == engine.volume_inspect("dbdata")["Mountpoint"]
    missing = docker("volume", "inspect", "nothing-here", check=False)
    assert missing.returncode == 1 and "no such volume" in missing.stderr.lower()
    bad = docker("volume", "create", "bad/name", check=False)
    assert bad.returncode == 1 and "bad/name" in bad.stderr
    docker("volume", "rm", "dbdata")
    assert "dbdata" not in docker("volume", "ls", "-q").stdout.split()


def test_named_volume_made_on_first_use_keeps_its_files(docker, engine):
    docker("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/file")
    assert engine.volume_inspect("keep")["Name"] == "keep"
    assert docker("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c",
                  "cat /data/file; touch /data/x 2>/dev/null || echo read-only"
                  ).stdout == "kept\nread-only\n"
    docker("run", "-d", "--name", "user", "-v", "keep:/data", "busybox", "sleep", "300")
    busy = docker("volume", "rm", "keep", check=False)
    assert busy.returncode == 1 and "in use" in busy.stderr
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", "user").stdout)
    assert [(m["Type"], m["Name"], m["Destination"], m["RW"]) for m in mounts] == \
        [("volume", "keep", "/data", True)]
    docker("rm", "-f", "user")
    docker("volume", "rm", "keep")


def test_mount_flag_volume_bind_and_tmpfs(docker, tmp_path):
    (tmp_path / "host.txt").write_text("from the host\n")
    out = docker("run", "--rm",
                 "--mount", "type=volume,src=mounted,dst=/vol,volume-label=made=by-mount",
                 "--mount", f"type=bind,src={tmp_path},dst=/host,readonly",
                 "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=1m",
                 "busybox", "sh", "-c",
                 "echo v > /vol/v; cat /host/host.txt; touch /host/x 2>/dev/null || "
                 "echo bind read-only; grep ' /scratch ' /proc/mounts").stdout.splitlines()
    assert out[:2] == ["from the host", "bind read-only"]
    assert out[2].startswith("tmpfs /scratch tmpfs") and "size=1024k" in out[2]
    assert docker("volume", "inspect", "-f", "{{.Labels.made}}", "mounted").stdout.strip() \
        == "by-mount"
    docker("volume", "rm", "mounted")
    bad = docker("run", "--rm", "--mount", "type=bind,src=/no/such/dir,dst=/x", "busybox",
                 "true", check=False)
    assert bad.returncode == 125 and "bind source path does not exist" in bad.stderr


def test_tmpfs_flag(docker):
    out = docker("run", "--rm", "--tmpfs", "/run/scratch:size=2m,mode=1770", "busybox", "sh",
                 "-c", "grep ' /run/scratch ' /proc/mounts; stat -c %a /run/scratch").stdout
    mount, mode = out.splitlines()
    assert "size=2048k" in mount and "noexec" in mount and mode == "1770"


def test_anonymous_volumes_and_rm_v(docker, engine):
    before = {v["Name"] for v in engine.volumes()}
    docker("run", "-d", "--name", "anon", "-v", "/cache", "busybox", "sh", "-c",
           "echo x > /cache/x; exec sleep 300")
    made = {v["Name"] for v in engine.volumes()} - before
    assert len(made) == 1 and len(next(iter(made))) == 64
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", "anon").stdout)
    assert mounts[0]["Name"] in made and mounts[0]["Destination"] == "/cache"
    docker("rm", "-f", "-v", "anon")
    assert {v["Name"] for v in engine.volumes()} == before


def test_an_images_volume_gets_an_anonymous_volume_with_its_files(docker, engine):
    docker("run", "--name", "seed", "busybox", "sh", "-c", "mkdir /seeded; echo s > /seeded/f")
    docker("commit", "--change", "VOLUME /seeded", "seed", "withvolume:1")
    docker("rm", "seed")
    before = {v["Name"] for v in engine.volumes()}
    out = docker("run", "--rm", "withvolume:1", "sh", "-c",
                 "cat /seeded/f; grep -c ' /seeded ' /proc/mounts").stdout
    assert out == "s\n1\n"
    # --rm took its anonymous volume with it, as Docker's does.
    assert {v["Name"] for v in engine.volumes()} == before
    docker("rmi", "withvolume:1")


def test_volume_prune_and_system_df(docker, engine):
    docker("volume", "create", "unused")
    docker("run", "-d", "--name", "holder", "-v", "held:/h", "busybox", "sleep", "300")
    df = docker("system", "df", "-v").stdout
    assert "unused" in df and "held" in df
    # A 1.41 client's prune takes every unused volume, named ones too (as dockerd 20.10).
    pruned = docker("volume", "prune", "-f").stdout
    assert "unused" in pruned and "held" not in pruned
    assert {v["Name"] for v in engine.volumes()} >= {"held"}
    assert "unused" not in {v["Name"] for v in engine.volumes()}
    docker("rm", "-f", "holder")
    docker("volume", "rm", "held")


def test_log_options_reach_the_engine_and_clients_see_json_file(docker, engine):
    docker("run", "-d", "--name", "capped", "--log-opt", "max-size=1m", "--log-opt",
           "max-file=2", "busybox", "sleep", "300")
    assert engine.inspect("capped")["HostConfig"]["LogConfig"]["Config"] == \
        {"max-size": "1m", "max-file": "2"}
    # What Docker's clients check before they read logs back.
    assert docker("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "capped").stdout == \
        "json-file\n"
    bad = docker("run", "--rm", "--log-opt", "compress=true", "busybox", "true", check=False)
    assert bad.returncode == 125 and "compress" in bad.stderr
    docker("rm", "-f", "capped")
