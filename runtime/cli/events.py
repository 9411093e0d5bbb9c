"""`moor events`: the engine's events journal, as `docker events` prints it.

Without `--until` it replays what `--since` asks for and then follows new events until
interrupted (Ctrl-C ends it quietly, status 0); with `--until` it stops at that time (waiting
for it when it is still to come).
"""

import json
import time

from runtime.cli.output import engine_for, write


def args_events(parser):
    parser.description = ("Print the engine's events: containers, images, networks, "
                          "volumes.")
    parser.add_argument("--since", default=None,
                        help="show events since a time: 2026-01-02T15:04:05Z, unix seconds, "
                             "or a duration before now like 10m")
    parser.add_argument("--until", default=None, help="stop at a time (the same forms)")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="container=, image=, event=, type=, label=, network=, volume=, "
                             "scope= (values of one key: any; different keys: all)")
    parser.add_argument("--format", default=None,
                        help="'json' (one JSON object per event) or a Go template like "
                             "'{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'")


def cmd_events(args) -> int:
    engine = engine_for(args)
    stream = engine.events(since=args.since, until=args.until, filters=args.filter,
                           follow=True)
    try:
        for event in stream:
            write(render(args.format, event))
    except KeyboardInterrupt:
        return 0
    return 0


def render(format_text: str | None, event: dict) -> str:
    """One event as a line: Docker's text, its JSON, or the user's template."""
    if not format_text:
        return pretty(event)
    if format_text.strip() in ("json", "{{json .}}"):
        return json.dumps(event, separators=(",", ":")) + "\n"
    from runtime.cli.output import render_template
    text, error = render_template(format_text, go_fields(event))
    if error is not None:
        raise error
    return text + "\n"


def go_fields(event: dict) -> dict:
    """The event under the names a Go template uses (docker's events.Message fields)."""
    actor = event.get("Actor") or {}
    return {"Status": event.get("status", ""), "ID": event.get("id", ""),
            "From": event.get("from", ""), "Type": event.get("Type", ""),
            "Action": event.get("Action", ""),
            "Actor": {"ID": actor.get("ID", ""), "Attributes": actor.get("Attributes") or {}},
            "Scope": event.get("scope", ""), "Time": event.get("time", 0),
            "TimeNano": event.get("timeNano", 0)}


def pretty(event: dict) -> str:
    """docker's prettyPrintEvent: `<local time with nanoseconds> <type> <action> <actor>
    (k=v, ...)` with the attributes sorted."""
    nanos = int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)
    seconds, fraction = divmod(nanos, 1_000_000_000)
    local = time.localtime(seconds)
    zone = time.strftime("%z", local)
    zone = "Z" if zone in ("+0000", "-0000") else f"{zone[:3]}:{zone[3:]}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{fraction:09d}{zone}"
    actor = event.get("Actor") or {}
    line = f"{stamp} {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{key}={attributes[key]}" for key in sorted(attributes)) + ")"
    return line + "\n"
