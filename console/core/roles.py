"""The one table of who may do what: team roles and the actions each allows.

A role allows its own actions and those of every role below it. Superusers may do everything;
per-container grants (`grants.ContainerGrant`) add single actions on single containers, and
per-stack grants (`grants.StackGrant`) single verbs on single stacks.
"""
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer"
    OPERATOR = "operator", "operator"
    DEVELOPER = "developer", "developer"
    ADMIN = "admin", "team admin"


# Actions, by the lowest role that has them.
ROLE_ACTIONS = {
    Role.VIEWER: {"view", "logs", "inspect"},
    Role.OPERATOR: {"start", "stop", "restart", "kill", "terminal"},
    Role.DEVELOPER: {"run", "create", "remove", "commit", "tag", "pull", "build", "schedule"},
    Role.ADMIN: {"manage"},
}
ROLE_ORDER = [Role.VIEWER, Role.OPERATOR, Role.DEVELOPER, Role.ADMIN]

ALL_ACTIONS = frozenset().union(*ROLE_ACTIONS.values())

# Actions a team admin may grant one user on one container.
GRANTABLE_ACTIONS = ("view", "logs", "inspect", "start", "stop", "restart", "kill", "terminal",
                     "remove", "commit")


def actions_of(role: str) -> set[str]:
    """Every action `role` allows (its own and those of the roles below it)."""
    allowed = set()
    for each in ROLE_ORDER:
        allowed |= ROLE_ACTIONS[each]
        if each == role:
            return allowed
    raise ValueError(f"unknown role {role!r}")


def roles_allowing(action: str) -> list[str]:
    """The roles whose members may do `action`."""
    if action not in ALL_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return [role.value for role in ROLE_ORDER if action in actions_of(role)]
