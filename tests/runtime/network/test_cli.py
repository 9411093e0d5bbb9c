"""`moor network ...` and `moor port` through the command line: Docker's output and errors."""

import json

import pytest

from .conftest import spare_range

pytestmark = pytest.mark.privileged


def test_create_ls_inspect_rm(engine, moor):
    n = spare_range()
    network_id = moor("network", "create", "--subnet", f"10.{n}.0.0/24", "--label", "tier=db",
                      "clidb", check=True).stdout.strip()
    assert len(network_id) == 64
    table = moor("network", "ls", check=True).stdout.splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [network_id[:12], "clidb", "bridge", "local"] in [row.split() for row in table]
    assert moor("network", "ls", "-q", "--no-trunc", "-f", "name=clidb",
                check=True).stdout == network_id + "\n"
    assert moor("network", "ls", "--format", "{{.Name}}:{{.Driver}}", "-f", "driver=null",
                check=True).stdout == "none:null\n"
    [document] = json.loads(moor("network", "inspect", "clidb", check=True).stdout)
    assert document["IPAM"]["Config"] == [{"Subnet": f"10.{n}.0.0/24", "Gateway": f"10.{n}.0.1"}]
    assert document["Labels"] == {"tier": "db"}
    assert moor("network", "inspect", "-f", "{{.Internal}}", "clidb",
                check=True).stdout == "false\n"
    assert moor("network", "rm", "clidb", check=True).stdout == "clidb\n"


def test_errors_are_one_line(engine, moor):
    cases = [
        (["network", "create", "--driver", "overlay", "x"], "network driver overlay is not "
                                                           "supported"),
        (["network", "create", "-o", "mtu=9000", "x"], "unknown network option mtu"),
        (["network", "create", "--gateway", "10.0.0.1", "x"], "a gateway needs a --subnet"),
        (["network", "rm", "bridge"], "bridge is a pre-defined network and cannot be removed"),
        (["network", "inspect", "nosuch"], "network nosuch not found"),
        (["network", "connect", "bridge", "nosuch"], "No such container: nosuch"),
        (["port", "nosuch"], "No such container: nosuch"),
    ]
    for args, message in cases:
        result = moor(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_connect_disconnect_and_port(engine, moor):
    moor("network", "create", "cliback", check=True)
    try:
        moor("run", "-d", "--name", "cliweb", "-p", "127.0.0.1::80", "-p", "53/udp", "busybox",
             "sleep", "60", check=True)
        moor("network", "connect", "cliback", "cliweb", check=True)
        networks = json.loads(moor("network", "inspect", "cliback", check=True).stdout)[0]
        [member] = networks["Containers"].values()
        assert member["Name"] == "cliweb"
        ports = moor("port", "cliweb", check=True).stdout.splitlines()
        assert [line.split(" -> ")[0] for line in ports] == ["53/udp", "80/tcp"]
        assert ports[1].startswith("80/tcp -> 127.0.0.1:")
        assert moor("port", "cliweb", "80", check=True).stdout.startswith("127.0.0.1:")
        missing = moor("port", "cliweb", "81")
        assert missing.returncode == 1
        assert missing.stderr == "Error: No public port '81/tcp' published for cliweb\n"
        moor("network", "disconnect", "cliback", "cliweb", check=True)
        busy = moor("network", "connect", "cliback", "cliweb")
        assert busy.returncode == 0
        refused = moor("network", "rm", "cliback")
        assert refused.returncode == 1 and "active endpoints (cliweb)" in refused.stderr
    finally:
        moor("rm", "-f", "cliweb")
        moor("network", "rm", "cliback")
