"""Container states and the one table of legal moves between them.

Docker's words (created, running, paused, restarting, exited, dead) plus two of the console's
own: `pending` (requested, the engine has not made it yet) and `removing`. Moves the engine can
make on its own (a process exiting, the monitor vanishing) are in the table too, since a sync
records what the engine reports.
"""
from django.db import models


class Status(models.TextChoices):
    PENDING = "pending"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"
    REMOVING = "removing"


S = Status
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.CREATED, S.RUNNING, S.EXITED, S.DEAD, S.REMOVING},
    S.CREATED: {S.RUNNING, S.EXITED, S.DEAD, S.REMOVING},
    S.RUNNING: {S.PAUSED, S.RESTARTING, S.EXITED, S.DEAD, S.REMOVING},
    S.PAUSED: {S.RUNNING, S.EXITED, S.DEAD, S.REMOVING},
    S.RESTARTING: {S.RUNNING, S.EXITED, S.DEAD, S.REMOVING},
    S.EXITED: {S.RUNNING, S.RESTARTING, S.DEAD, S.REMOVING},
    S.DEAD: {S.EXITED, S.REMOVING},
    # A failed removal goes back to whatever the engine then reports.
    S.REMOVING: {S.CREATED, S.RUNNING, S.PAUSED, S.RESTARTING, S.EXITED, S.DEAD},
}

ENGINE_STATES = {S.CREATED, S.RUNNING, S.PAUSED, S.RESTARTING, S.EXITED, S.DEAD}


class InvalidTransition(Exception):
    pass


def can_move(current: str, new: str) -> bool:
    return new == current or new in TRANSITIONS[current]


# Which states each user action makes sense in (the buttons shown, the 409s answered).
ACTION_STATES = {
    "start": {S.CREATED, S.EXITED},
    "stop": {S.RUNNING, S.PAUSED, S.RESTARTING},
    "kill": {S.RUNNING, S.PAUSED, S.RESTARTING},
    "restart": {S.CREATED, S.RUNNING, S.EXITED, S.PAUSED},
    "remove": {S.CREATED, S.RUNNING, S.EXITED, S.DEAD, S.PAUSED, S.RESTARTING},
    "commit": {S.CREATED, S.RUNNING, S.EXITED, S.PAUSED},
}
