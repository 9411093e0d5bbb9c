"""What a container sees from the inside, probed the way crun's and runc's own tests do:
namespaces, capabilities, masked and read-only paths, cgroup limits, devices, seccomp, user.

Nothing here writes anything that a broken jail would change on the host."""

import os

import pytest

from runtime.container.spec import existing_masked_paths

pytestmark = pytest.mark.privileged


def probe(engine, script, **options):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", script], **options})
    code = engine.wait(container_id)
    output = "".join(r.data.decode() for r in engine.logs(container_id))
    return code, output, container_id


def test_pid_1_is_the_command_and_the_hostname_is_the_short_id(engine, runtime_name):
    code, output, container_id = probe(
        engine, "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; cat /etc/hostname",
        runtime=runtime_name)
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("sh -c cat /proc/1/cmdline")
    assert lines[1] == container_id[:12]
    assert lines[2] == container_id[:12]


def test_only_loopback_without_a_network(engine, runtime_name):
    code, output, _ = probe(engine, "ip -o link | cut -d: -f2", network="none",
                            runtime=runtime_name)
    assert [line.strip() for line in output.splitlines()] == ["lo"]


def test_namespaces_differ_from_the_hosts(engine, runtime_name):
    kinds = ["pid", "ipc", "uts", "mnt", "net"]
    code, output, _ = probe(engine, " ; ".join(f"readlink /proc/self/ns/{k}" for k in kinds),
                            runtime=runtime_name)
    inside = output.split()
    host = [os.readlink(f"/proc/self/ns/{k}") for k in kinds]
    assert len(inside) == len(kinds)
    for kind, mine, theirs in zip(kinds, inside, host, strict=True):
        assert mine != theirs, f"{kind} namespace is the host's"


def test_root_gets_dockers_14_capabilities_and_nothing_inheritable(engine, runtime_name):
    code, output, _ = probe(engine, "grep Cap /proc/self/status", runtime=runtime_name)
    caps = dict(line.split(":\t") for line in output.splitlines())
    assert caps["CapEff"] == "00000000a80425fb"
    assert caps["CapPrm"] == "00000000a80425fb"
    assert caps["CapBnd"] == "00000000a80425fb"
    assert caps["CapInh"] == "0000000000000000"
    assert caps["CapAmb"] == "0000000000000000"


def test_a_non_root_user_has_no_effective_capabilities(engine):
    code, output, _ = probe(engine, "id -u; id -g; grep CapEff /proc/self/status",
                            user="1000:1000")
    lines = output.splitlines()
    assert lines[:2] == ["1000", "1000"]
    assert lines[2].split()[1] == "0000000000000000"


def test_user_names_resolve_in_the_containers_own_passwd(engine):
    code, output, _ = probe(engine, "id -un; echo $HOME", user="nobody")
    assert output.splitlines() == ["nobody", "/home"]


def test_environment(engine):
    code, output, container_id = probe(engine, "env | sort", env=["GREETING=hi"])
    env = dict(line.split("=", 1) for line in output.splitlines())
    assert env["GREETING"] == "hi"
    assert env["HOSTNAME"] == container_id[:12]
    assert env["HOME"] == "/root"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert "TERM" not in env


def test_working_directory_is_created(engine):
    code, output, _ = probe(engine, "pwd", workdir="/srv/app")
    assert output == "/srv/app\n"


def test_masked_paths_read_empty(engine, runtime_name):
    masked = [p for p in existing_masked_paths() if p.startswith(("/proc", "/sys"))]
    assert masked, "this kernel has none of Docker's masked paths"
    script = " ; ".join(
        f"if [ -d {p} ]; then echo {p} $(ls -A {p} | wc -l); "
        f"else echo {p} $(cat {p} 2>/dev/null | wc -c); fi" for p in masked)
    code, output, _ = probe(engine, script, runtime=runtime_name)
    for line in output.splitlines():
        path, count = line.rsplit(" ", 1)
        assert count == "0", f"{path} is not masked"


def test_proc_sys_is_read_only(engine, runtime_name):
    # kernel.domainname belongs to the container's own UTS namespace: even a broken jail
    # could not change the host by writing it.
    code, output, _ = probe(engine, "echo probe > /proc/sys/kernel/domainname 2>&1; echo $?",
                            runtime=runtime_name)
    assert "Read-only file system" in output
    assert output.splitlines()[-1] != "0"


def test_sysfs_is_read_only(engine):
    code, output, _ = probe(engine, "touch /sys/probe 2>&1; echo $?")
    assert output.splitlines()[-1] != "0"


def test_dev_holds_only_the_usual_nodes(engine, runtime_name):
    code, output, _ = probe(engine, "ls /dev", runtime=runtime_name)
    names = set(output.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm",
            "mqueue"} <= names
    assert not names & {"sda", "vda", "mem", "kmsg", "kvm"}


def test_a_block_device_made_inside_cannot_be_read(engine, runtime_name):
    code, output, _ = probe(engine, "mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk; echo rc=$?",
                            runtime=runtime_name)
    assert "Operation not permitted" in output
    assert "rc=0" not in output


def test_seccomp_and_capabilities_refuse_namespaces_and_mounts(engine, runtime_name):
    code, output, _ = probe(
        engine, "unshare -r true 2>&1; echo unshare=$?; "
                "mount -t tmpfs none /mnt 2>&1; echo mount=$?", runtime=runtime_name)
    assert "unshare=0" not in output
    assert "mount=0" not in output


def test_no_stray_file_descriptors_reach_the_container(engine, runtime_name):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"],
                               "runtime": runtime_name})
    from runtime.container import execute
    container = engine.container(container_id)
    import subprocess
    process = execute.process_spec(container, ["ls", "/proc/1/fd"])
    spec_path = execute.write_spec(container, process)
    from runtime.container.lifecycle import oci_runtime
    result = subprocess.run(oci_runtime(engine, container).argv(
        "exec", "--process", spec_path, container_id), capture_output=True, text=True)
    os.unlink(spec_path)
    assert sorted(result.stdout.split()) == ["0", "1", "2"]
    engine.remove(container_id, force=True)


def test_memory_hog_is_oom_killed(engine, runtime_name):
    code, output, container_id = probe(
        engine, "exec dd if=/dev/zero of=/dev/null bs=128M count=1", memory="64m",
        runtime=runtime_name)
    state = engine.inspect(container_id)["State"]
    assert code == 137
    assert state["OOMKilled"] is True


def test_fork_loop_stops_at_the_pids_limit(engine, runtime_name):
    container_id = engine.run({"image": "busybox", "pids_limit": 10, "runtime": runtime_name,
                               "cmd": ["sleep", "300"]})
    parent = engine.paths.cgroup_parent
    base = f"/sys/fs/cgroup/pids/{parent}/{container_id}"
    with open(f"{base}/pids.max") as f:
        assert f.read().strip() == "10"
    import subprocess

    from runtime.container import execute
    container = engine.container(container_id)
    process = execute.process_spec(container, [
        "sh", "-c", "for i in $(seq 1 40); do sleep 30 >/dev/null 2>&1 & done; "
        "echo all-started"])
    spec_path = execute.write_spec(container, process)
    from runtime.container.lifecycle import oci_runtime
    result = subprocess.run(oci_runtime(engine, container).argv(
        "exec", "--process", spec_path, container_id), capture_output=True, text=True,
        timeout=60)
    os.unlink(spec_path)
    assert "all-started" not in result.stdout
    assert "can't fork" in result.stderr
    with open(f"{base}/pids.current") as f:
        assert int(f.read()) <= 10
    engine.remove(container_id, force=True)


def test_cpus_become_a_cfs_quota(engine, runtime_name):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"], "cpus": 0.5,
                               "runtime": runtime_name})
    base = f"/sys/fs/cgroup/cpu/{engine.paths.cgroup_parent}/{container_id}"
    with open(f"{base}/cpu.cfs_quota_us") as f:
        quota = int(f.read())
    with open(f"{base}/cpu.cfs_period_us") as f:
        period = int(f.read())
    assert (quota, period) == (50000, 100000)
    engine.remove(container_id, force=True)


def test_memory_limit_is_set(engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"], "memory": "64m"})
    base = f"/sys/fs/cgroup/memory/{engine.paths.cgroup_parent}/{container_id}"
    with open(f"{base}/memory.limit_in_bytes") as f:
        assert int(f.read()) == 64 * 1024 * 1024
    engine.remove(container_id, force=True)


def test_read_only_root_file_system(engine):
    code, output, _ = probe(engine, "touch /probe 2>&1; echo rc=$?", read_only=True)
    assert "Read-only file system" in output


def test_host_network_sees_the_hosts_interfaces(engine):
    code, output, _ = probe(engine, "hostname; ip -o link | wc -l", network="host")
    lines = output.splitlines()
    assert lines[0] == os.uname().nodename
    host_links = len([n for n in os.listdir("/sys/class/net")])
    assert int(lines[1]) == host_links


def test_names_resolve_through_nss_in_the_busybox_image(engine):
    # Debian's busybox is glibc-static: wget by name goes through glibc's NSS modules.
    code, output, container_id = probe(
        engine, "httpd -p 8080 -h /etc && wget -q -O - http://$(hostname):8080/hostname")
    assert code == 0, output
    assert output.strip() == container_id[:12]


def test_bind_mount_read_only(engine, tmp_path):
    (tmp_path / "data.txt").write_text("from the host\n")
    code, output, _ = probe(engine, "cat /data/data.txt; touch /data/new 2>&1; echo rc=$?",
                            binds=[f"{tmp_path}:/data:ro"])
    assert "from the host" in output
    assert "Read-only file system" in output
    assert not (tmp_path / "new").exists()


def test_crun_gets_the_profile_precompiled(engine):
    """crun reads the compiled program from the bundle's annotation instead of compiling the
    profile on every start; it must be the same policy (checked by the probes above, which run
    on crun) and it must be there."""
    import json
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "100"],
                               "runtime": "crun"})
    with open(os.path.join(engine.paths.containers, container_id, "config.json")) as f:
        bundle = json.load(f)
    assert bundle["annotations"]["run.oci.seccomp_bpf_data"]
    assert bundle["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    engine.remove(container_id, force=True)
