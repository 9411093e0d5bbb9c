"""Go's durations, as Docker's flags and Dockerfiles write them: `30s`, `1m30s`, `500ms`.

`parse` is Go's time.ParseDuration (exact, in integer nanoseconds); `go_string` is
time.Duration.String(), the way Docker prints one back (`Health check exceeded timeout (30s)`).
"""

import re

_PIECE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
         "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse(text: str) -> int:
    """Nanoseconds of a Go duration (`1h30m`, `1.5s`, `-2m`, `0`); ValueError otherwise."""
    rest = text.strip()
    negative = rest.startswith("-")
    if rest[:1] in "+-":
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    position, total = 0, 0
    while position < len(rest):
        match = _PIECE.match(rest, position)
        if not match:
            raise ValueError(f"invalid duration {text!r}")
        whole, _, fraction = match.group(1).partition(".")
        unit = UNITS[match.group(2)]
        total += int(whole or 0) * unit
        if fraction:
            total += int(fraction) * unit // 10 ** len(fraction)
        position = match.end()
    return -total if negative else total


def go_string(nanoseconds: int) -> str:
    """Go's time.Duration.String(): `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`."""
    if nanoseconds == 0:
        return "0s"
    sign, value = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)

    def decimal(whole: int, fraction: int, digits: int) -> str:
        return f"{whole}.{fraction:0{digits}d}".rstrip("0").rstrip(".")

    if value < 1_000:
        return f"{sign}{value}ns"
    if value < 1_000_000:
        return sign + decimal(value // 1_000, value % 1_000, 3) + "µs"
    if value < 1_000_000_000:
        return sign + decimal(value // 1_000_000, value % 1_000_000, 6) + "ms"
    hours, rest = divmod(value, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return sign + text + decimal(rest // 1_000_000_000, rest % 1_000_000_000, 9) + "s"
