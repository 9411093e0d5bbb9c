"""Team networks: `team-<number>` is a name only `ensure_network` makes (once, however many
jobs ask at the same time), and two teams' networks are as isolated from each other as any
two networks. Only the sandboxes' own addresses are contacted."""

import threading

import pytest

from runtime.errors import Conflict, InvalidArgument
from runtime.network import create_network, ensure_network, inspect_network, remove_network, store
from runtime.network.networks import _create

pytestmark = pytest.mark.privileged


@pytest.fixture
def team_networks(paths):
    """`team_networks(number)` → the name of that team's network, removed after the test
    (after its sandboxes: ask for it before `sandbox`)."""
    made = []

    def make(number: int) -> str:
        name = f"team-{number}"
        ensure_network(paths, name, {"moorage.team": name})
        made.append(name)
        return name

    yield make
    for name in made:
        remove_network(paths, name)


@pytest.mark.parametrize("name", ["team-1", "team-42"])
def test_team_names_are_reserved(paths, name):
    with pytest.raises(InvalidArgument, match="reserved for the networks the console makes"):
        create_network(paths, name)


def test_names_that_only_look_alike_are_free(paths, user_network):
    for name in ("team-a", "team-1-web", "teams-1"):
        assert inspect_network(paths, user_network(name))["Name"] == name


def test_a_team_network_is_made_once(paths):
    try:
        found = []
        threads = [threading.Thread(target=lambda: found.append(
            ensure_network(paths, "team-7", {"moorage.team": "team-7"})["Id"]))
            for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(found) == 4 and len(set(found)) == 1
        assert [network.name for network in store.all_networks(paths)].count("team-7") == 1
        assert inspect_network(paths, "team-7")["Labels"] == {"moorage.team": "team-7"}
    finally:
        remove_network(paths, "team-7")


def test_a_network_of_that_name_made_otherwise_is_not_taken_over(paths):
    with store.state_lock(paths):
        _create(paths, "team-8", None, None, False, False, {})
    try:
        with pytest.raises(Conflict, match="team-8 exists on this host but was not made for"):
            ensure_network(paths, "team-8", {"moorage.team": "team-8"})
    finally:
        remove_network(paths, "team-8")


def test_only_team_names_are_ensured(paths):
    with pytest.raises(InvalidArgument, match="not a team network"):
        ensure_network(paths, "web", {"moorage.team": "team-1"})


def _ping(box, address):
    return box.run("ping", "-c", "1", "-W", "1", address, timeout=5)


def test_teams_reach_their_own_containers_and_not_the_others(paths, team_networks, sandbox):
    first, second = team_networks(1), team_networks(2)
    a1, a2 = sandbox(paths, mode=first), sandbox(paths, mode=first)
    b1 = sandbox(paths, mode=second)
    for server in (a2, b1):
        server.serve_http()
    assert _ping(a1, a2.address).returncode == 0
    assert a1.fetch(a2.address).stdout == f"{a2.name}\n"
    assert _ping(a1, b1.address).returncode != 0
    assert a1.fetch(b1.address).returncode != 0
    assert _ping(b1, a2.address).returncode != 0
    assert b1.fetch(a2.address).returncode != 0
