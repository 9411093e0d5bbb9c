"""Container states: what the engine reports, and the one table of the moves the console makes
itself.

Docker's words (created, running, paused, restarting, exited, dead) plus two of the console's
own: `pending` (requested, the engine has not made it yet) and `removing` (a removal was asked
for). The engine's states are not checked against a table here: the engine's own table
(runtime/container/state.py) already allowed the move, and a sync records what the engine
reports, whatever the row said before (`Container.observe`). The console's table below says
which states a user's request may move a row out of.
"""
from django.db import models

from console.core.errors import Conflict


class Status(models.TextChoices):
    PENDING = "pending"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"
    REMOVING = "removing"


ENGINE_STATES = {Status.CREATED, Status.RUNNING, Status.PAUSED, Status.RESTARTING,
                 Status.EXITED, Status.DEAD}

# Which states each user action makes sense in (the buttons shown, the 409s answered).
ACTION_STATES = {
    "start": {Status.CREATED, Status.EXITED},
    "stop": {Status.RUNNING, Status.PAUSED, Status.RESTARTING},
    "kill": {Status.RUNNING, Status.PAUSED, Status.RESTARTING},
    "restart": {Status.CREATED, Status.RUNNING, Status.EXITED, Status.PAUSED},
    "remove": {Status.CREATED, Status.RUNNING, Status.EXITED, Status.DEAD, Status.PAUSED,
               Status.RESTARTING},
    "commit": {Status.CREATED, Status.RUNNING, Status.EXITED, Status.PAUSED},
}

# The moves the console makes on its own: a row goes to `removing` when its removal is
# requested. Everything else a row becomes is what the engine reports.
TRANSITIONS: dict[str, set[str]] = {state: {Status.REMOVING} for state in ACTION_STATES["remove"]}


class InvalidTransition(Conflict):
    """A move the table does not allow (409, should a request ever meet one)."""


def can_move(current: str, new: str) -> bool:
    return new == current or new in TRANSITIONS.get(current, ())
