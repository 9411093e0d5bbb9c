"""Docker's CLI run flags through the engine service (`docker run --dns ...` on the socket):
what the CLI puts into the create request reaches the container as `moor run` gives it."""

import json

import pytest

pytestmark = pytest.mark.privileged


def test_hosts_dns_ulimits_security_init_and_log_options(docker, engine, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    result = docker(
        "run", "--name", "flagged", "--add-host", "db:10.1.2.3", "--dns", "9.9.9.9",
        "--dns-search", "example.com", "--dns-option", "ndots:2", "--ulimit",
        "nofile=1024:2048", "--security-opt", "no-new-privileges", "--security-opt",
        f"seccomp={profile}", "--init", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
        "--stop-timeout", "4", "--expose", "7000-7001", "--platform", "linux/amd64",
        "busybox", "sh", "-c",
        "grep db /etc/hosts; cat /etc/resolv.conf; ulimit -n; ulimit -Hn; "
        "grep NoNewPrivs /proc/self/status; mkdir /tmp/new 2>&1; ps -o comm | sed -n 2p")
    assert result.stdout.splitlines() == [
        "10.1.2.3\tdb", "search example.com", "nameserver 9.9.9.9", "options ndots:2",
        "1024", "2048", "NoNewPrivs:\t1",
        "mkdir: can't create directory '/tmp/new': Operation not permitted", "init"]
    document = engine.inspect("flagged")
    host = document["HostConfig"]
    assert host["ExtraHosts"] == ["db:10.1.2.3"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (
        ["9.9.9.9"], ["example.com"], ["ndots:2"])
    assert host["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024}]
    assert host["SecurityOpt"][0] == "no-new-privileges"
    assert host["Init"] is True
    assert host["LogConfig"]["Config"] == {"max-size": "1m", "max-file": "2"}
    assert document["Config"]["StopTimeout"] == 4
    assert sorted(document["Config"]["ExposedPorts"]) == ["7000/tcp", "7001/tcp"]


def test_devices_ip_and_cidfile(docker, engine, tmp_path):
    docker("network", "create", "--subnet", "10.232.9.0/24", "sockflags")
    cidfile = tmp_path / "cid"
    result = docker("run", "--cidfile", str(cidfile), "--network", "sockflags", "--ip",
                    "10.232.9.33", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh",
                    "-c", "ip -4 -o addr show eth0 | grep -o 'inet [^ ]*'; exec 3</dev/lc && "
                    "echo read; exec 4>/dev/lc && echo write", check=False)
    assert "can't create /dev/lc: Operation not permitted" in result.stderr  # read-only
    assert result.stdout.splitlines() == ["inet 10.232.9.33/24", "read"]
    container_id = cidfile.read_text()
    document = engine.inspect(container_id)
    assert document["HostConfig"]["Devices"] == [
        {"PathOnHost": "/dev/loop-control", "PathInContainer": "/dev/lc",
         "CgroupPermissions": "r"}]
    assert document["NetworkSettings"]["Networks"]["sockflags"]["IPAMConfig"] == {
        "IPv4Address": "10.232.9.33"}
    docker("rm", container_id)
    docker("network", "rm", "sockflags")


@pytest.mark.parametrize("flags, message", [
    (["--ulimit", "nofile=1:999999999"], "above the host's"),
    (["--security-opt", "label=user:x"], "SELinux labels are not supported"),
    (["--platform", "linux/arm64"], "linux/arm64"),
    (["--dns", "not-an-address"], "not-an-address"),
], ids=["ulimit", "selinux", "platform", "dns"])
def test_what_the_engine_refuses_is_a_clear_error(docker, engine, flags, message):
    result = docker("run", "--rm", *flags, "busybox", "true", check=False)
    assert result.returncode == 125
    assert message in result.stderr
    assert engine.containers(all=True) == []
