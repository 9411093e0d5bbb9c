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


def test_the_console_moves_a_row_only_to_removing():
    assert can_move(Status.RUNNING, Status.REMOVING)
    assert can_move(Status.DEAD, Status.REMOVING)
    assert not can_move(Status.PENDING, Status.REMOVING)
    assert not can_move(Status.REMOVING, Status.PENDING)
    assert not can_move(Status.EXITED, Status.RUNNING)


def test_transition_raises_on_an_illegal_move(world):
    container = world.containers["web"]
    container.state = Status.PENDING
    with pytest.raises(InvalidTransition):
        container.transition(Status.REMOVING)
    container.state = Status.EXITED
    container.transition(Status.REMOVING)
    assert container.state == Status.REMOVING


@pytest.mark.parametrize("before, reported", [
    ("exited", "paused"), ("created", "paused"), ("created", "restarting"),
    ("dead", "running"), ("dead", "restarting"), ("removing", "running"), ("pending", "exited"),
])
def test_what_the_engine_reports_is_recorded_whatever_the_row_said(world, before, reported):
    container = world.containers["web"]
    container.state = before
    container.observe(reported)
    assert container.state == reported


def test_a_state_the_engine_does_not_have_is_refused(world):
    with pytest.raises(InvalidTransition):
        world.containers["web"].observe("sleeping")
