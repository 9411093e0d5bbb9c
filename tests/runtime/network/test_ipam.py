"""Address allocation: in turn, never twice, kept on disk, under the root's lock."""

import multiprocessing
import secrets

import pytest

from runtime.errors import Conflict
from runtime.network import ipam, store
from runtime.network.store import Network
from runtime.paths import Paths


def _network(paths: Paths, subnet: str = "10.77.0.0/29", gateway: str = "10.77.0.1") -> Network:
    network = Network(id=secrets.token_hex(32), name="n", subnet=subnet, gateway=gateway,
                      bridge="moortest")
    network.save(paths)
    return network


@pytest.fixture
def paths(tmp_path):
    return Paths(str(tmp_path / "root"))


def _owner() -> str:
    return secrets.token_hex(32)


def test_addresses_skip_the_gateway_and_come_in_turn(paths):
    network = _network(paths)
    first, second = _owner(), _owner()
    assert ipam.allocate(paths, network, first) == "10.77.0.2"
    assert ipam.allocate(paths, network, second) == "10.77.0.3"
    ipam.release(paths, network, first)
    # a released address is not handed out again at once
    assert ipam.allocate(paths, network, _owner()) == "10.77.0.4"


def test_a_full_network_says_so(paths):
    network = _network(paths)  # /29: .2-.6 usable beside the gateway .1
    for _ in range(5):
        ipam.allocate(paths, network, _owner())
    with pytest.raises(Conflict, match="no free address left in network n"):
        ipam.allocate(paths, network, _owner())


def test_allocations_wrap_around_and_never_repeat_a_held_address(paths):
    network = _network(paths)
    owners = [_owner() for _ in range(5)]
    given = [ipam.allocate(paths, network, owner) for owner in owners]
    ipam.release(paths, network, owners[1])
    assert ipam.allocate(paths, network, _owner()) == given[1]
    assert len(set(ipam.members(paths, network))) == 5


def test_allocations_survive_a_restart(paths):
    network = _network(paths)
    owner = _owner()
    address = ipam.allocate(paths, network, owner)
    reloaded = [n for n in store.all_networks(paths) if n.id == network.id][0]
    assert ipam.members(paths, reloaded) == {address: owner}
    assert ipam.allocate(paths, reloaded, _owner()) != address


def test_release_unless_keeps_the_live(paths):
    network = _network(paths)
    live, dead = _owner(), _owner()
    kept = ipam.allocate(paths, network, live)
    lost = ipam.allocate(paths, network, dead)
    assert ipam.release_unless(paths, network, {live}) == [(lost, dead)]
    assert ipam.members(paths, network) == {kept: live}


def _allocate_many(root: str, network_id: str, count: int, queue):
    paths = Paths(root)
    network = [n for n in store.all_networks(paths) if n.id == network_id][0]
    for _ in range(count):
        with store.state_lock(paths):
            queue.put(ipam.allocate(paths, network, secrets.token_hex(32)))


def test_concurrent_processes_never_get_the_same_address(paths):
    network = _network(paths, subnet="10.78.0.0/24", gateway="10.78.0.1")
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(
        target=_allocate_many, args=(paths.root, network.id, 40, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    given = [queue.get(timeout=30) for _ in range(160)]
    for worker in workers:
        worker.join()
    assert len(set(given)) == 160
    assert len(ipam.members(paths, network)) == 160
