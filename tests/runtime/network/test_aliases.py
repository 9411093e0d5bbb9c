"""Network-scoped aliases: more names a container has on a user-defined network, as Docker's
`--network-alias` and `network connect --alias` give (Compose names its containers' service
this way). Real containers on a private engine root; lookups read the hosts files the engine
writes."""

import pytest

from runtime.errors import InvalidArgument

pytestmark = pytest.mark.privileged


def _names(moor, container: str) -> dict[str, set[str]]:
    """{address: names} of the container's /etc/hosts."""
    hosts = moor("exec", container, "cat", "/etc/hosts", check=True).stdout
    names: dict[str, set[str]] = {}
    for line in hosts.splitlines():
        address, *rest = line.split()
        names.setdefault(address, set()).update(rest)
    return names


def test_an_alias_given_at_create_is_a_name_the_others_on_the_network_reach(engine, moor,
                                                                            network):
    front = network("front")
    db = engine.run({"image": "busybox", "name": "db-1", "cmd": ["sleep", "60"],
                     "network": front, "network_aliases": ["db", "database"]})
    client = engine.run({"image": "busybox", "name": "client", "cmd": ["sleep", "60"],
                         "network": front})
    address = engine.inspect(db)["NetworkSettings"]["Networks"][front]["IPAddress"]
    assert {"db-1", "db", "database"} <= _names(moor, client)[address]
    assert {"db", "database"} <= _names(moor, db)[address]
    ping = moor("exec", client, "ping", "-c", "1", "-W", "2", "database")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    endpoint = engine.inspect(db)["NetworkSettings"]["Networks"][front]
    assert endpoint["Aliases"] == ["db", "database"]
    assert "database" in endpoint["DNSNames"]
    # the alias goes with the container
    moor("rm", "-f", db, check=True)
    assert not any("database" in names for names in _names(moor, client).values())


def test_connect_with_an_alias_names_the_container_on_that_network_only(engine, moor, network):
    front, back = network("front"), network("back")
    web = moor("run", "-d", "--network", front, "--name", "web", "busybox", "sleep", "60",
               check=True).stdout.strip()
    on_back = moor("run", "-d", "--network", back, "busybox", "sleep", "60",
                   check=True).stdout.strip()
    on_front = moor("run", "-d", "--network", front, "busybox", "sleep", "60",
                    check=True).stdout.strip()
    moor("network", "connect", "--alias", "api", back, "web", check=True)
    back_address = engine.inspect(web)["NetworkSettings"]["Networks"][back]["IPAddress"]
    assert "api" in _names(moor, on_back)[back_address]
    assert not any("api" in names for names in _names(moor, on_front).values())


def test_aliases_are_refused_where_docker_refuses_them(engine, moor):
    with pytest.raises(InvalidArgument, match="user-defined networks"):
        engine.create({"image": "busybox", "cmd": ["true"], "network_aliases": ["x"]})
    with pytest.raises(InvalidArgument, match="invalid network alias"):
        engine.create({"image": "busybox", "cmd": ["true"], "network": "somenet",
                       "network_aliases": ["no spaces"]})
    assert engine.containers(all=True) == []
