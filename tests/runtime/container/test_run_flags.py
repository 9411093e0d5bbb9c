"""The run flags people type, each through `moor` and a real container, compared with what
Docker documents for it: `--add-host`, `--dns`/`--dns-search`/`--dns-option`, `--ulimit`,
`--security-opt`, `--device`, `--ip`, `--platform`, `--cidfile`, `-a`, `--stop-timeout`,
`--label-file`, `--expose`; `exec --env-file`; `--detach-keys` of run and exec; and the help
that lists them. Where the OCI runtime does the work (limits, devices, seccomp), under crun
and runc both."""

import json
import os

import pytest

from tests.runtime.container.test_terminal import Terminal

pytestmark = pytest.mark.privileged

CREATE_FLAGS = ["--add-host", "--dns", "--dns-search", "--dns-option", "--ulimit", "--init",
                "--security-opt", "--device", "--ip", "--network-alias", "--platform",
                "--stop-timeout", "--label-file", "--expose"]
HELP = [
    ("run", CREATE_FLAGS + ["--cidfile", "--attach", "--detach-keys"]),
    ("create", CREATE_FLAGS + ["--cidfile"]),
    ("container run", CREATE_FLAGS + ["--cidfile", "--attach", "--detach-keys"]),
    ("exec", ["--env-file", "--detach-keys"]),
    ("attach", ["--detach-keys"]),
    ("start", ["--detach-keys"]),
]


@pytest.mark.parametrize("verb, flags", HELP, ids=[verb for verb, _ in HELP])
def test_each_commands_help_lists_its_flags(moor, verb, flags):
    text = moor(*verb.split(), "--help", check=True).stdout
    missing = [flag for flag in flags if f"{flag} " not in text]
    assert not missing, f"moor {verb} --help lacks {missing}"


def gateway(moor, network="bridge") -> str:
    return moor("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network,
                check=True).stdout.strip()


# flags, the file the container reads, lines it must hold (Docker's run reference: "Add
# entries to container hosts file", "Configure DNS"), and what inspect shows.
NETWORK_FILES = [
    ("add-host", ["--add-host", "db:10.1.2.3", "--add-host", "db6:fd00::5"], "/etc/hosts",
     ["10.1.2.3\tdb", "fd00::5\tdb6"], {"ExtraHosts": ["db:10.1.2.3", "db6:fd00::5"]}),
    ("add-host-gateway", ["--add-host", "gw:host-gateway"], "/etc/hosts",
     ["{gateway}\tgw"], {"ExtraHosts": ["gw:host-gateway"]}),
    ("dns", ["--dns", "9.9.9.9", "--dns", "1.1.1.1", "--dns-search", "example.com",
             "--dns-option", "ndots:2", "--dns-opt", "timeout:3"], "/etc/resolv.conf",
     ["search example.com", "nameserver 9.9.9.9", "nameserver 1.1.1.1",
      "options ndots:2 timeout:3"],
     {"Dns": ["9.9.9.9", "1.1.1.1"], "DnsSearch": ["example.com"],
      "DnsOptions": ["ndots:2", "timeout:3"]}),
    ("dns-none-network", ["--network", "none", "--dns", "9.9.9.9"], "/etc/resolv.conf",
     ["nameserver 9.9.9.9"], {"Dns": ["9.9.9.9"]}),
    ("host-network", ["--network", "host", "--add-host", "db:10.1.2.3", "--dns", "9.9.9.9"],
     "/etc/hosts", ["10.1.2.3\tdb"], {"ExtraHosts": ["db:10.1.2.3"], "Dns": ["9.9.9.9"]}),
]


@pytest.mark.parametrize("flags, path, lines, shown", [row[1:] for row in NETWORK_FILES],
                         ids=[row[0] for row in NETWORK_FILES])
def test_hosts_and_resolv_conf(engine, moor, flags, path, lines, shown):
    moor("create", "--name", "files", *flags, "busybox", "cat", path, check=True)
    result = moor("start", "-a", "files", check=True)
    content = result.stdout.splitlines()
    for line in lines:
        assert line.format(gateway=gateway(moor)) in content, (line, result.stdout)
    host_config = engine.inspect("files")["HostConfig"]
    for key, value in shown.items():
        assert host_config[key] == value


def test_dns_search_dot_leaves_no_search_line(moor):
    result = moor("run", "--rm", "--dns", "9.9.9.9", "--dns-search", ".", "busybox", "cat",
                  "/etc/resolv.conf", check=True)
    assert not [line for line in result.stdout.splitlines() if line.startswith("search")]
    assert "nameserver 9.9.9.9" in result.stdout.splitlines()


def host_hard_limit(resource) -> int:
    import resource as limits
    return limits.getrlimit(resource)[1]


# flags, the shell's `ulimit` options, their output (Docker: "Set ulimits in container").
ULIMITS = [
    ("nofile", ["--ulimit", "nofile=1024:2048"], "-n; ulimit -Hn", ["1024", "2048"],
     [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]),
    ("one-value", ["--ulimit", "nofile=512"], "-n; ulimit -Hn", ["512", "512"],
     [{"Name": "nofile", "Soft": 512, "Hard": 512}]),
    ("several", ["--ulimit", "nproc=100:200", "--ulimit", "core=0"], "-u; ulimit -Hu; "
     "ulimit -c", ["100", "200", "0"],
     [{"Name": "nproc", "Soft": 100, "Hard": 200}, {"Name": "core", "Soft": 0, "Hard": 0}]),
    ("last-wins", ["--ulimit", "nofile=1000", "--ulimit", "nofile=2000:3000"],
     "-n; ulimit -Hn", ["2000", "3000"], [{"Name": "nofile", "Soft": 2000, "Hard": 3000}]),
]


@pytest.mark.parametrize("flags, shell, output, shown", [row[1:] for row in ULIMITS],
                         ids=[row[0] for row in ULIMITS])
def test_ulimits(engine, moor, runtime_name, flags, shell, output, shown):
    result = moor("run", "--name", "limited", "--runtime", runtime_name, *flags, "busybox",
                  "sh", "-c", f"ulimit {shell}", check=True)
    assert result.stdout.split() == output
    assert engine.inspect("limited")["HostConfig"]["Ulimits"] == shown


BAD_ULIMITS = [
    ("above-host", ["--ulimit", f"nofile=1024:{10 ** 9}"], "is above the host's"),
    ("soft-above-hard", ["--ulimit", "nofile=4096:1024"], "soft limit"),
    ("unknown", ["--ulimit", "speed=1"], "speed"),
    ("no-value", ["--ulimit", "nofile"], "nofile"),
]


@pytest.mark.parametrize("flags, message", [row[1:] for row in BAD_ULIMITS],
                         ids=[row[0] for row in BAD_ULIMITS])
def test_a_ulimit_the_host_or_docker_refuses_is_a_clear_error(engine, moor, flags, message):
    result = moor("run", "--rm", *flags, "busybox", "true")
    assert result.returncode == 125
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert engine.containers(all=True) == []


def test_the_host_hard_limit_is_named_in_the_refusal(moor):
    hard = host_hard_limit(__import__("resource").RLIMIT_NOFILE)
    result = moor("run", "--rm", "--ulimit", f"nofile=1:{hard + 1}", "busybox", "true")
    assert f"({hard})" in result.stderr


SECCOMP_PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}

# --security-opt, a shell command, its output (Docker's "Security configuration").
SECURITY = [
    ("default", [], "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
     "NoNewPrivs:\t0\nSeccomp:\t2\n"),
    ("no-new-privileges", ["no-new-privileges"], "grep NoNewPrivs /proc/self/status",
     "NoNewPrivs:\t1\n"),
    ("no-new-privileges-true", ["no-new-privileges=true"], "grep NoNewPrivs /proc/self/status",
     "NoNewPrivs:\t1\n"),
    ("no-new-privileges-false", ["no-new-privileges=false"],
     "grep NoNewPrivs /proc/self/status", "NoNewPrivs:\t0\n"),
    ("seccomp-unconfined", ["seccomp=unconfined"], "grep Seccomp: /proc/self/status",
     "Seccomp:\t0\n"),
    ("seccomp-profile", ["seccomp={profile}"],
     "grep Seccomp: /proc/self/status; mkdir /tmp/new 2>&1; touch /tmp/file && echo touched",
     "Seccomp:\t2\nmkdir: can't create directory '/tmp/new': Operation not permitted\n"
     "touched\n"),
    ("systempaths-unconfined", ["systempaths=unconfined"],
     "grep -c ' /proc/kcore ' /proc/self/mountinfo", "0\n"),
    ("label-disable", ["label=disable"], "echo ran", "ran\n"),
]


@pytest.mark.parametrize("options, shell, output", [row[1:] for row in SECURITY],
                         ids=[row[0] for row in SECURITY])
def test_security_options(engine, moor, runtime_name, tmp_path, options, shell, output):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(SECCOMP_PROFILE, indent=2))
    flags = [arg for option in options
             for arg in ("--security-opt", option.format(profile=profile))]
    result = moor("run", "--name", "secured", "--runtime", runtime_name, *flags, "busybox",
                  "sh", "-c", shell)
    assert result.stdout == output, result.stderr
    shown = engine.inspect("secured")["HostConfig"]["SecurityOpt"]
    # As Docker's CLI sends it: a profile's file becomes the profile itself, compacted.
    expected = [option.format(profile=json.dumps(SECCOMP_PROFILE, separators=(",", ":")))
                for option in options]
    assert shown == (expected or None)


BAD_SECURITY = [
    ("apparmor-without-apparmor", "apparmor=docker-default", "AppArmor is not enabled"),
    ("selinux-label", "label=user:system_u", "SELinux labels are not supported"),
    ("unknown", "bogus", "invalid --security-opt: 'bogus'"),
    ("missing-profile", "seccomp=/no/such/profile.json",
     "opening seccomp profile (/no/such/profile.json) failed"),
    ("no-new-privileges-junk", "no-new-privileges=maybe", "takes true or false"),
]


@pytest.mark.parametrize("option, message", [row[1:] for row in BAD_SECURITY],
                         ids=[row[0] for row in BAD_SECURITY])
def test_an_unsupported_security_option_is_refused_clearly(engine, moor, option, message):
    from runtime.container import security_options
    if option.startswith("apparmor") and security_options.apparmor_enabled():
        pytest.skip("this host has AppArmor")
    result = moor("run", "--rm", "--security-opt", option, "busybox", "true")
    assert result.returncode == 125
    assert message in result.stderr
    assert engine.containers(all=True) == []


def test_a_seccomp_profile_that_is_not_json_is_refused(engine, moor, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text("{not json")
    result = moor("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox", "true")
    assert result.returncode == 125
    assert f"compacting json for seccomp profile ({profile}) failed" in result.stderr
    assert engine.containers(all=True) == []


# /dev/loop-control (10:237) is in no container's default device rules.
DEVICES = [
    ("same-path", "/dev/loop-control", "/dev/loop-control", "read write"),
    ("renamed", "/dev/loop-control:/dev/lc", "/dev/lc", "read write"),
    ("read-only", "/dev/loop-control:/dev/lc:r", "/dev/lc", "read"),
    ("permissions-only", "/dev/loop-control:r", "/dev/loop-control", "read"),
]


@pytest.mark.parametrize("device, path, allowed", [row[1:] for row in DEVICES],
                         ids=[row[0] for row in DEVICES])
def test_devices(engine, moor, runtime_name, device, path, allowed):
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("the host has no /dev/loop-control")
    shell = (f"ls -l {path} | cut -c1; exec 3<{path} && echo read; "
             f"exec 4>{path} && echo write")
    result = moor("run", "--name", "with-device", "--runtime", runtime_name, "--device",
                  device, "busybox", "sh", "-c", shell)
    assert result.stdout.split() == ["c", *allowed.split()], result.stderr
    permissions = "r" if allowed == "read" else "rwm"
    assert engine.inspect("with-device")["HostConfig"]["Devices"] == [
        {"PathOnHost": "/dev/loop-control", "PathInContainer": path,
         "CgroupPermissions": permissions}]


def test_without_device_the_container_has_none_and_cannot_open_one(moor):
    result = moor("run", "--rm", "busybox", "sh", "-c",
                  "ls /dev/loop-control; mknod /dev/lc c 10 237 && exec 3</dev/lc")
    assert "No such file or directory" in result.stderr
    assert "Operation not permitted" in result.stderr


@pytest.mark.parametrize("device, message", [
    ("/dev/no-such-device", "/dev/no-such-device"),
    ("/dev/loop-control:relative", "relative"),
    ("/dev/loop-control:/dev/lc:rwx", "rwx"),
], ids=["missing", "relative-path", "bad-permissions"])
def test_a_bad_device_is_refused(engine, moor, device, message):
    result = moor("run", "--rm", "--device", device, "busybox", "true")
    assert result.returncode == 125 and message in result.stderr
    assert engine.containers(all=True) == []


@pytest.fixture
def subnet_network(moor):
    moor("network", "create", "--subnet", "10.231.7.0/24", "flagnet", check=True)
    moor("network", "create", "plainnet", check=True)
    yield "flagnet"
    moor("rm", "-f", "holder", "asker")
    moor("network", "rm", "flagnet", "plainnet")


def test_ip_on_a_user_network_is_the_containers_and_reserved(engine, moor, subnet_network):
    result = moor("run", "--name", "holder", "-d", "--network", subnet_network, "--ip",
                  "10.231.7.40", "busybox", "sleep", "300", check=True)
    assert result.returncode == 0
    addresses = moor("exec", "holder", "ip", "-4", "-o", "addr", "show", "eth0",
                     check=True).stdout
    assert "inet 10.231.7.40/24" in addresses
    endpoint = engine.inspect("holder")["NetworkSettings"]["Networks"][subnet_network]
    assert endpoint["IPAddress"] == "10.231.7.40"
    assert endpoint["IPAMConfig"] == {"IPv4Address": "10.231.7.40"}
    taken = moor("run", "--name", "asker", "--network", subnet_network, "--ip", "10.231.7.40",
                 "busybox", "true")
    assert taken.returncode == 125
    assert "Address already in use" in taken.stderr
    assert "asker" not in moor("ps", "-a", "--format", "{{.Names}}").stdout
    moor("stop", "-t", "0", "holder", check=True)     # a stopped container holds no address
    again = moor("run", "--name", "asker", "--network", subnet_network, "--ip", "10.231.7.40",
                 "busybox", "ip", "-4", "-o", "addr", "show", "eth0", check=True)
    assert "inet 10.231.7.40/24" in again.stdout


@pytest.mark.parametrize("network, address, message", [
    ("bridge", "172.17.0.9", "user specified IP address is supported on user defined "
                             "networks only"),
    (None, "172.17.0.9", "user specified IP address is supported on user defined "
                         "networks only"),
    ("flagnet", "10.9.9.9", "does not belong to any of this network's subnets"),
    ("flagnet", "10.231.7.300", "invalid IPv4 address"),
    ("plainnet", "10.231.8.5", "user configured subnets"),
], ids=["default-bridge", "no-network", "outside-subnet", "not-an-address",
        "network-without-subnet"])
def test_ip_where_docker_refuses_it(engine, moor, subnet_network, network, address, message):
    flags = ["--network", network] if network else []
    result = moor("run", "--rm", *flags, "--ip", address, "busybox", "true")
    assert result.returncode == 125 and message in result.stderr
    assert engine.containers(all=True) == []


@pytest.mark.parametrize("platform, accepted", [
    ("linux/amd64", True), ("linux", True), ("amd64", True), ("LINUX/AMD64", True),
    ("linux/arm64", False), ("windows/amd64", False), ("linux/arm/v7", False),
])
def test_platform(engine, moor, platform, accepted):
    from runtime.container.options import host_platform
    if host_platform() != "linux/amd64":
        pytest.skip("the table is an x86-64 host's")
    result = moor("run", "--rm", "--platform", platform, "busybox", "echo", "ran")
    if accepted:
        assert (result.returncode, result.stdout) == (0, "ran\n")
    else:
        assert result.returncode == 125
        assert f"platform {platform!r} is not supported: this host runs linux/amd64" in \
            result.stderr
    assert engine.containers(all=True) == []


def test_cidfile_is_written_and_never_overwritten(engine, moor, tmp_path):
    cidfile = tmp_path / "web.cid"
    container_id = moor("run", "-d", "--cidfile", str(cidfile), "busybox", "sleep", "300",
                        check=True).stdout.strip()
    assert cidfile.read_text() == container_id     # Docker writes the ID alone, no newline
    again = moor("run", "-d", "--cidfile", str(cidfile), "busybox", "true")
    assert again.returncode == 125
    assert f"container ID file found, make sure the other container isn't running or " \
           f"delete {cidfile}" in again.stderr
    assert [c["Id"] for c in engine.containers(all=True)] == [container_id]
    assert cidfile.read_text() == container_id
    created = moor("create", "--cidfile", str(tmp_path / "created.cid"), "busybox", "true",
                   check=True).stdout.strip()
    assert (tmp_path / "created.cid").read_text() == created
    foreground = moor("run", "--cidfile", str(tmp_path / "run.cid"), "busybox", "echo", "hi",
                      check=True)
    assert foreground.stdout == "hi\n"
    assert len((tmp_path / "run.cid").read_text()) == 64


def test_a_cidfile_that_cannot_be_written_leaves_no_container(engine, moor, tmp_path):
    result = moor("run", "-d", "--cidfile", str(tmp_path / "no" / "such" / "dir.cid"),
                  "busybox", "true")
    assert result.returncode == 125
    assert "failed to create the container ID file: No such file or directory" in \
        result.stderr
    assert engine.containers(all=True) == []


SHOUT = "echo out; echo err >&2"
# -a streams: what the terminal gets on stdout and stderr (Docker's "Attach to STDIN,
# STDOUT and/or STDERR").
ATTACH = [
    ("default", [], "out\n", "err\n"),
    ("stdout", ["-a", "stdout"], "out\n", ""),
    ("stderr", ["-a", "stderr"], "", "err\n"),
    ("both", ["-a", "stdout", "-a", "STDERR"], "out\n", "err\n"),
]


@pytest.mark.parametrize("flags, stdout, stderr", [row[1:] for row in ATTACH],
                         ids=[row[0] for row in ATTACH])
def test_attach_streams(moor, runtime_name, flags, stdout, stderr):
    result = moor("run", "--rm", "--runtime", runtime_name, *flags, "busybox", "sh", "-c",
                  SHOUT)
    assert (result.returncode, result.stdout, result.stderr) == (0, stdout, stderr)


def test_attach_stdin_only_prints_the_id_and_feeds_the_program(engine, moor):
    result = moor("run", "-i", "-a", "stdin", "--name", "fed", "busybox", "sh", "-c",
                  "cat > /tmp/got; cat /tmp/got; test -s /tmp/got", input="fed\n")
    assert result.returncode == 0
    assert result.stdout.strip() == engine.inspect("fed")["Id"]
    assert "".join(r.data.decode() for r in engine.logs("fed")) == "fed\n"


def test_attach_refuses_an_unknown_stream_and_detach(engine, moor):
    result = moor("run", "--rm", "-a", "stdlog", "busybox", "true")
    assert result.returncode == 125
    assert "valid streams are STDIN, STDOUT and STDERR" in result.stderr
    both = moor("run", "-d", "-a", "stdout", "busybox", "true")
    assert both.returncode == 125 and "Conflicting options: -a and -d" in both.stderr
    assert engine.containers(all=True) == []


def test_stop_timeout_is_the_default_of_stop(engine, moor):
    moor("run", "-d", "--name", "patient", "--stop-timeout", "1", "busybox", "sleep", "300",
         check=True)
    assert engine.inspect("patient")["Config"]["StopTimeout"] == 1
    # sleep as PID 1 ignores SIGTERM: the stop kills it once the container's own timeout
    # passes, which the default of 10 s would not have reached within the deadline.
    moor("stop", "patient", check=True, timeout=8)
    assert engine.inspect("patient")["State"]["ExitCode"] == 137
    bad = moor("run", "--rm", "--stop-timeout", "soon", "busybox", "true")
    assert bad.returncode == 125 and "soon" in bad.stderr


def test_label_file_as_docker_reads_it(engine, moor, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text("# a comment\n\n  tier=web\nowner=ops team\nflag\n"
                      "tier=api\n")
    extra = tmp_path / "more"
    extra.write_text("zone=b\r\n")
    moor("create", "--name", "labelled", "--label-file", str(labels), "--label-file",
         str(extra), "-l", "zone=a", "busybox", "true", check=True)
    assert engine.inspect("labelled")["Config"]["Labels"] == {
        "tier": "api", "owner": "ops team", "flag": "", "zone": "a"}
    missing = moor("create", "--label-file", str(tmp_path / "none"), "busybox", "true")
    assert missing.returncode == 125 and "cannot read label file" in missing.stderr


@pytest.mark.parametrize("flags, exposed", [
    (["--expose", "80"], ["80/tcp"]),
    (["--expose", "53/udp", "--expose", "8000-8002"], ["53/udp", "8000/tcp", "8001/tcp",
                                                      "8002/tcp"]),
    (["--expose", "7000-7001/sctp"], ["7000/sctp", "7001/sctp"]),
], ids=["port", "range", "sctp-range"])
def test_expose(engine, moor, flags, exposed):
    moor("create", "--name", "exposing", *flags, "busybox", "true", check=True)
    assert sorted(engine.inspect("exposing")["Config"]["ExposedPorts"]) == exposed
    shown = moor("ps", "-a", "--filter", f"expose={exposed[-1]}", "--format", "{{.Names}}",
                 check=True).stdout
    assert shown == "exposing\n"


@pytest.mark.parametrize("value", ["8002-8000", "http", "70000", "80/icmp"])
def test_a_bad_expose_is_refused(engine, moor, value):
    result = moor("create", "--expose", value, "busybox", "true")
    assert result.returncode == 125 and "invalid range format for --expose" in result.stderr
    assert engine.containers(all=True) == []


def test_exec_env_file(engine, moor, tmp_path):
    env = tmp_path / "env"
    env.write_text("A=1\n# not this\n  B=two words \nFROM_HOST\nC=file\n")
    engine.run({"image": "busybox", "cmd": ["sleep", "300"], "name": "execd"})
    result = moor("exec", "--env-file", str(env), "-e", "C=flag", "execd", "env",
                  check=True)
    variables = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert variables["A"] == "1"
    assert variables["B"] == "two words "
    assert variables["C"] == "flag"                 # -e comes after the file's, as Docker's
    assert "FROM_HOST" not in variables           # unset on the host: left out
    missing = moor("exec", "--env-file", str(tmp_path / "none"), "execd", "true")
    assert missing.returncode != 0 and "cannot read env file" in missing.stderr


def test_run_detach_keys(engine, runtime_name):
    term = Terminal(engine, "run", "-it", "--runtime", runtime_name, "--name", "leaves",
                    "--detach-keys", "ctrl-a,x", "busybox", "sh")
    term.expect(b"# ")
    term.send(b"\x10\x11")                      # the default keys are now just typed
    term.send(b"echo still-\"\"here\r")
    term.expect(b"still-here\r\n")
    term.send(b"\x01x")
    assert term.wait() == 0
    assert engine.inspect("leaves")["State"]["Status"] == "running"
    again = Terminal(engine, "attach", "--detach-keys", "ctrl-b", "leaves")
    again.send(b"\r")
    again.expect(b"# ")
    again.send(b"\x02")
    assert again.wait() == 0
    assert engine.inspect("leaves")["State"]["Status"] == "running"


def test_exec_detach_keys_leave_the_process_running(engine, moor):
    engine.run({"image": "busybox", "cmd": ["sleep", "300"], "name": "execs"})
    term = Terminal(engine, "exec", "-it", "--detach-keys", "ctrl-x,y", "execs", "sh")
    term.expect(b"# ")
    term.send(b"exec sleep 123\r")
    term.send(b"\x18y")
    assert term.wait() == 0
    assert "sleep 123" in moor("top", "execs", check=True).stdout


def test_bad_detach_keys_are_refused(engine, moor):
    result = moor("run", "--rm", "--detach-keys", "ctrl-1", "busybox", "true")
    assert result.returncode == 125 and "invalid detach keys" in result.stderr
    assert engine.containers(all=True) == []
