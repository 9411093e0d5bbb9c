"""Reasons on sensitive actions: a team may require whoever does one of `REASON_ACTIONS` on its
containers or stacks to say why (`Team.reasons_required_for`). The reason is kept in the
action's audit entry (`params.reason`) and shown in the history.

`require_reason(team, action, reason)` is the one check: it answers the reason cleaned, or
raises Invalid beside the field `reason` when the team requires one and none was given. A
reason given for an action that does not require one is kept all the same.
"""
import re

from console.core.errors import Invalid

REASON_ACTIONS = {
    "remove": "removing a container",
    "kill": "killing a container",
    "commit-overwrite": "committing over an existing tag",
    "terminal-root": "a terminal as root",
    "stack-deploy": "deploying a stack",
    "stack-remove": "removing a stack",
}
MAX_LENGTH = 1000
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_reason(value) -> str:
    """A reason as given: text of at most MAX_LENGTH characters (lines and tabs allowed)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise Invalid(fields={"reason": ["A reason is text."]})
    value = value.strip()
    if len(value) > MAX_LENGTH:
        raise Invalid(fields={"reason": [f"At most {MAX_LENGTH} characters."]})
    if CONTROL_CHARACTERS.search(value):
        raise Invalid(fields={"reason": ["No control characters, but lines and tabs."]})
    return value


def requires_reason(team, action: str) -> bool:
    if action not in REASON_ACTIONS:
        raise ValueError(f"unknown action {action!r} for reasons")
    return team is not None and action in (team.reasons_required_for or [])


def require_reason(team, action: str, reason) -> str:
    """The reason cleaned; Invalid (field `reason`) when `team` requires one for `action` and
    none was given."""
    reason = clean_reason(reason)
    if not reason and requires_reason(team, action):
        raise Invalid(fields={"reason": [
            f"Team {team.name} requires a reason for {REASON_ACTIONS[action]}."]})
    return reason


def validate_reason_actions(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or any(item not in REASON_ACTIONS for item in value):
        raise ValidationError(f"A list of: {', '.join(REASON_ACTIONS)}.")
