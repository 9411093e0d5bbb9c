import pytest

from console.containers.status import InvalidTransition, Status, can_move
from console.core.roles import Role, actions_of, roles_allowing


def test_each_role_has_the_actions_of_the_roles_below_it():
    assert actions_of(Role.VIEWER) == {"view", "logs", "inspect"}
    assert actions_of(Role.OPERATOR) >= actions_of(Role.VIEWER) | {"start", "stop", "terminal"}
    assert "run" not in actions_of(Role.OPERATOR)
    assert actions_of(Role.DEVELOPER) >= {"run", "remove", "commit", "tag", "pull", "build"}
    assert "manage" in actions_of(Role.ADMIN) and "manage" not in actions_of(Role.DEVELOPER)


def test_roles_allowing_an_action():
    assert roles_allowing("stop") == ["operator", "developer", "admin"]
    assert roles_allowing("view") == ["viewer", "operator", "developer", "admin"]
    with pytest.raises(ValueError):
        roles_allowing("fly")


def test_legal_and_illegal_moves():
    assert can_move(Status.PENDING, Status.RUNNING)
    assert can_move(Status.RUNNING, Status.EXITED)
    assert can_move(Status.EXITED, Status.RUNNING)
    assert not can_move(Status.EXITED, Status.PENDING)
    assert not can_move(Status.DEAD, Status.RUNNING)


def test_transition_raises_on_an_illegal_move(world):
    container = world.containers["web"]
    container.state = Status.EXITED
    with pytest.raises(InvalidTransition):
        container.transition(Status.PENDING)
    container.transition(Status.RUNNING)
    assert container.state == Status.RUNNING
