"""Docker's container JSON -> Engine.create options (no engine needed)."""

import pytest

from runtime.service.translate import create_options, is_empty
from runtime.service.wire import ApiError


def docker_cli_body(**overrides):
    """What Docker 20.10's CLI sends for `docker run busybox true`, most of it empty."""
    host = {"Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}},
            "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {
                "Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False,
            "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
            "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [],
            "ExtraHosts": None, "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": None,
            "OomScoreAdj": 0, "PidMode": "", "Privileged": False, "PublishAllPorts": False,
            "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "",
            "ShmSize": 0, "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0,
            "Memory": 0, "NanoCpus": 0, "CpuQuota": 0, "CpuPeriod": 0, "CgroupParent": "",
            "BlkioWeight": 0,
            "BlkioWeightDevice": [], "Devices": [], "MemorySwappiness": -1,
            "OomKillDisable": False, "PidsLimit": None, "Ulimits": None, "MaskedPaths": None,
            "ReadonlyPaths": None}
    for key in ("Mounts", "Tmpfs"):        # sent only when given
        if key in overrides:
            host[key] = overrides.pop(key)
    body = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
            "AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False,
            "StdinOnce": False, "Env": [], "Cmd": ["true"], "Image": "busybox",
            "Volumes": {}, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
            "Labels": {}, "HostConfig": host, "NetworkingConfig": {"EndpointsConfig": {}}}
    for key, value in overrides.items():
        if key in host:
            host[key] = value
        else:
            body[key] = value
    return body


def test_the_clis_empty_fields_are_defaults():
    assert create_options(docker_cli_body(), "web") == {"image": "busybox", "name": "web",
                                                        "cmd": ["true"]}


def test_fields_become_options():
    options = create_options(docker_cli_body(
        Env=["A=1", "UNSET_IN_CLIENT"], Tty=True, OpenStdin=True, User="1000",
        WorkingDir="/srv", Labels={"k": "v"}, ExposedPorts={"80/tcp": {}}, Memory=64 << 20,
        NanoCpus=500_000_000, PidsLimit=50, Binds=["/srv:/srv:ro,z"],
        RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 3}, AutoRemove=False,
        PortBindings={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                      "53/udp": [{"HostIp": "", "HostPort": ""}]},
        NetworkMode="backend", CapAdd=["NET_ADMIN"], Entrypoint=[""]), None)
    assert options == {
        "image": "busybox", "cmd": ["true"], "entrypoint": [], "env": ["A=1"],
        "workdir": "/srv", "user": "1000", "tty": True, "stdin_open": True,
        "labels": {"k": "v"}, "expose": ["80/tcp"], "binds": ["/srv:/srv:ro,z"],
        "memory": 64 << 20, "cpus": 0.5, "pids_limit": 50, "restart": "on-failure:3",
        "cap_add": ["NET_ADMIN"], "ports": ["127.0.0.1:8080:80/tcp", "53/udp"],
        "network": "backend"}


def test_cpu_quota_and_the_endpoint_network():
    body = docker_cli_body(CpuQuota=50000, CpuPeriod=100000, NetworkMode="")
    body["NetworkingConfig"] = {"EndpointsConfig": {"proj_default": {"Aliases": ["db"]}}}
    options = create_options(body, None)
    assert options["cpus"] == 0.5 and options["network"] == "proj_default"


def test_the_run_flags_pass_to_the_engine():
    """`docker run --add-host --dns --dns-search --dns-option --ulimit --security-opt
    --device --init --log-opt --ip`, as the CLI sends them."""
    body = docker_cli_body(
        ExtraHosts=["db:10.0.0.5", "gw:host-gateway"], Dns=["9.9.9.9"],
        DnsSearch=["example.org"], DnsOptions=["ndots:2"],
        Ulimits=[{"Name": "nofile", "Hard": 2048, "Soft": 1024}],
        SecurityOpt=["no-new-privileges", "seccomp=unconfined"],
        Devices=[{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                  "CgroupPermissions": "rwm"}],
        LogConfig={"Type": "json-file", "Config": {"max-size": "1m"}}, NetworkMode="front")
    body["HostConfig"]["Init"] = True
    body["NetworkingConfig"] = {"EndpointsConfig": {"front": {
        "IPAMConfig": {"IPv4Address": "10.7.0.9"}}}}
    options = create_options(body, None)
    assert {key: options[key] for key in (
        "extra_hosts", "dns", "dns_search", "dns_options", "ulimits", "security_opt",
        "devices", "init", "log_opts", "ip")} == {
        "extra_hosts": ["db:10.0.0.5", "gw:host-gateway"], "dns": ["9.9.9.9"],
        "dns_search": ["example.org"], "dns_options": ["ndots:2"],
        "ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}],
        "security_opt": ["no-new-privileges", "seccomp=unconfined"],
        "devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                     "CgroupPermissions": "rwm"}],
        "init": True, "log_opts": {"max-size": "1m"}, "ip": "10.7.0.9"}


@pytest.mark.parametrize("field,value,message", [
    ("GroupAdd", ["audio"], "HostConfig.GroupAdd is not supported"),
    ("MemorySwappiness", 10, "HostConfig.MemorySwappiness is not supported"),
    ("Shell", ["/bin/bash"], "Config.Shell is not supported"),
    ("Frobnicate", 1, "unknown field Config.Frobnicate"),
    ("LogConfig", {"Type": "syslog"}, "log driver syslog is not supported"),
    ("VolumeDriver", "flocker", "volume driver flocker is not supported"),
    ("Binds", ["/srv:/srv", 7], "invalid HostConfig.Binds"),
    ("Mounts", {"Type": "bind"}, "invalid HostConfig.Mounts"),
    ("Tmpfs", ["/run"], "invalid HostConfig.Tmpfs"),
    ("Cmd", [1, 2], "invalid Config.Cmd"),
])
def test_what_cannot_be_honoured_is_refused(field, value, message):
    with pytest.raises(ApiError) as raised:
        create_options(docker_cli_body(**{field: value}), None)
    assert raised.value.status == 400 and message in raised.value.message


def test_mounts_go_to_the_engine_as_docker_sent_them():
    """Binds, Mounts, Tmpfs and Config.Volumes pass through: the engine parses them with
    Docker's rules (a Volumes path that another mount covers gets no anonymous volume)."""
    mounts = [{"Type": "volume", "Source": "", "Target": "/cache", "VolumeOptions": {}},
              {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1 << 20}}]
    options = create_options(docker_cli_body(
        Volumes={"/data": {}, "/anon": {}}, Binds=["data:/data:rw", "/srv:/srv:ro,z"],
        Mounts=mounts, Tmpfs={"/run": "size=64m"}, VolumeDriver="local"), None)
    assert options["binds"] == ["data:/data:rw", "/srv:/srv:ro,z"]
    assert options["mounts"] == mounts
    assert options["tmpfs"] == {"/run": "size=64m"}
    assert options["volumes"] == ["/data", "/anon"]


def test_the_engine_takes_what_translate_passes():
    from runtime.container import options
    config, host = options.build(create_options(docker_cli_body(
        Volumes={"/data": {}, "/anon": {}}, Binds=["data:/data:rw"],
        Mounts=[{"Type": "tmpfs", "Target": "/scratch"}], Tmpfs={"/run": "size=64m"}),
        None), {"config": {"Cmd": ["sh"]}})
    from runtime.volume import specs
    points = {point["Destination"]: point for point in specs.plan(config, host)}
    assert points["/data"]["Name"] == "data" and points["/anon"]["Anonymous"]
    assert points["/scratch"]["Type"] == "tmpfs" and host["Tmpfs"] == {"/run": "size=64m"}


def test_empty_values():
    assert is_empty({"Type": "", "Config": {}}) and is_empty([0, 0]) and is_empty(None)
    assert not is_empty({"Type": "syslog"}) and not is_empty(["x"])


def test_log_options_cap_the_engines_log():
    options = create_options(docker_cli_body(LogConfig={"Type": "json-file", "Config": {
        "max-size": "1m", "max-file": "2"}}), None)
    assert options["log_opts"] == {"max-size": "1m", "max-file": "2"}
