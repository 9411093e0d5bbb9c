"""`--since` and `--until` as Docker reads them (docker/cli's GetTimestamp): a Go duration
before now (`10m`, `1h30m`), an RFC 3339 time with or without its zone (`2026-01-02T15:04:05Z`,
`2026-01-02T15:04:05.5+01:00`, `2026-01-02T15:04`, `2026-01-02`; no zone means local time),
or unix seconds with an optional fraction (`1767366245.123456789`)."""

import datetime
import re
import time

from runtime import durations
from runtime.errors import InvalidArgument

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
    r"(Z|z|[+-]\d{2}:\d{2})?$")
_UNIX = re.compile(r"^(\d+)(?:\.(\d{1,9}))?$")


def parse(value, what: str = "--since", now_ns: int | None = None) -> int | None:
    """Nanoseconds since the epoch for one of the forms above (or a number of seconds);
    None for None or ""."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidArgument(f"invalid value for {what}: {value!r}")
    if isinstance(value, (int, float)):
        return int(value * 1_000_000_000)
    text = str(value).strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    if text != "0":
        try:
            return now_ns - durations.parse(text)
        except ValueError:
            pass
    match = _DATE_TIME.match(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                                       int(minute or 0), int(second or 0))
        except ValueError as error:
            raise InvalidArgument(f"invalid value for {what}: {text!r}: {error}") from None
        if zone in ("Z", "z"):
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            moment = moment.replace(tzinfo=datetime.timezone(sign * offset))
        else:
            moment = moment.astimezone()        # the local time zone, as Docker's CLI
        nanos = int((fraction or "0").ljust(9, "0"))
        return int(moment.timestamp()) * 1_000_000_000 + nanos
    match = _UNIX.match(text)
    if match:
        return int(match.group(1)) * 1_000_000_000 + int((match.group(2) or "0").ljust(9, "0"))
    raise InvalidArgument(f"invalid value for {what}: {text!r} (a time like "
                          "2026-01-02T15:04:05Z, unix seconds, or a duration like 10m)")
