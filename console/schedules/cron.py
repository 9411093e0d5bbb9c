"""Cron expressions, as crontab(5) writes them: five fields (minute, hour, day of month, month,
day of week) or one of @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually).
Times are UTC, the console's time zone. Parsed and walked by croniter."""
from datetime import datetime, timezone

from croniter import croniter

from console.core.errors import Invalid

MACROS = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
MAX_LENGTH = 100


def checked(expression) -> str:
    """The expression, normalised (single spaces), or Invalid beside the field `cron`."""
    if not isinstance(expression, str) or not expression.strip():
        raise Invalid(fields={"cron": ["A cron expression, e.g. 0 3 * * * (every day at 03:00 "
                                       "UTC) or @hourly."]})
    text = " ".join(expression.split())
    if len(text) > MAX_LENGTH:
        raise Invalid(fields={"cron": [f"At most {MAX_LENGTH} characters."]})
    if text.startswith("@"):
        if text not in MACROS:
            raise Invalid(fields={"cron": [f"The shorthands are {', '.join(MACROS)}."]})
    elif len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise Invalid(fields={"cron": [f"{text!r} is not a cron expression of five fields: "
                                       "minute hour day-of-month month day-of-week."]})
    return text


def next_runs(expression: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` times `expression` fires strictly after `after` (UTC)."""
    walker = croniter(expression, after.astimezone(timezone.utc))
    return [walker.get_next(datetime).astimezone(timezone.utc) for _ in range(count)]


def next_run(expression: str, after: datetime) -> datetime:
    return next_runs(expression, after, 1)[0]
