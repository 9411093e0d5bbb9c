"""The instructions that only change the image's config, and how Docker's history names them.

Each `apply_*` takes the stage's state and a command, changes `state.config` (the image's
`config` object) and returns the comment the classic builder records: the history entry of the
step is `<shell> #(nop) <comment>`, e.g. `/bin/sh -c #(nop) CMD ["sh" "-c" "echo hi"]`, with
Go's `%q`/`%v` renderings of lists where Docker uses them.
"""

import json

from runtime.container.options import parse_signal
from runtime.durations import go_string as go_duration
from runtime.errors import InvalidArgument
from runtime.image.build.words import substitute, substitute_words

PROTOCOLS = ("tcp", "udp", "sctp")


def go_quoted(items) -> str:
    """Go's `%q` of a []string: `["a" "b c"]`."""
    return "[" + " ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


def go_list(items) -> str:
    """Go's `%v` of a []string: `[a b c]`."""
    return "[" + " ".join(items) + "]"


def _go_rune(number: int) -> str:
    if 32 <= number < 127:
        return "'" + ("\\" + chr(number) if chr(number) in "'\\" else chr(number)) + "'"
    return f"'\\x{number:02x}'" if number < 256 else f"'\\u{number:04x}'"


def command_argv(state, command) -> list[str]:
    """CMD/ENTRYPOINT/RUN as an argv: the exec form, or the stage's shell + the string."""
    if command.exec_form is not None:
        return list(command.exec_form)
    return list(state.shell) + [command.shell_form]


# -- the instructions -------------------------------------------------------------------------

def apply_env(state, command) -> str:
    env = state.substitution_env()
    pairs = [(substitute(k, env, state.escape), substitute(v, env, state.escape))
             for k, v in command.pairs]
    items = list(state.config.get("Env") or [])
    for key, value in pairs:
        if not key:
            raise InvalidArgument("ENV names must not be empty")
        entry = f"{key}={value}"
        for index, item in enumerate(items):
            if item.partition("=")[0] == key:
                items[index] = entry
                break
        else:
            items.append(entry)
    state.config["Env"] = items
    return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)


def apply_label(state, command) -> str:
    env = state.substitution_env()
    pairs = [(substitute(k, env, state.escape), substitute(v, env, state.escape))
             for k, v in command.pairs]
    labels = dict(state.config.get("Labels") or {})
    for key, value in pairs:
        if not key:
            raise InvalidArgument("LABEL names must not be empty")
        labels[key] = value
    state.config["Labels"] = labels
    return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)


def exposed_ports(spec: str) -> list[str]:
    """`80`, `80/tcp`, `53/udp`, `8000-8010/tcp` -> ["80/tcp", ...]."""
    number, _, protocol = spec.partition("/")
    protocol = (protocol or "tcp").lower()
    if protocol not in PROTOCOLS:
        raise InvalidArgument(f"EXPOSE: invalid protocol {protocol!r} in {spec!r} "
                              "(use tcp, udp or sctp)")
    low, dash, high = number.partition("-")
    if not low.isdigit() or (dash and not high.isdigit()):
        raise InvalidArgument(f"EXPOSE: invalid port {spec!r}: a number like 80 or a range "
                              "like 8000-8010 is expected")
    first, last = int(low), int(high) if dash else int(low)
    if not (0 < first <= 65535 and 0 < last <= 65535) or last < first:
        raise InvalidArgument(f"EXPOSE: invalid port {spec!r}: ports go from 1 to 65535")
    return [f"{port}/{protocol}" for port in range(first, last + 1)]


def apply_expose(state, command) -> str:
    env = state.substitution_env()
    specs = [w for word in command.words for w in substitute_words(word, env, state.escape)]
    exposed = dict(state.config.get("ExposedPorts") or {})
    for spec in specs:
        for port in exposed_ports(spec):
            exposed[port] = {}
    state.config["ExposedPorts"] = exposed
    return "EXPOSE " + " ".join(specs)


def apply_volume(state, command) -> str:
    env = state.substitution_env()
    paths = [substitute(word, env, state.escape) for word in command.words]
    volumes = dict(state.config.get("Volumes") or {})
    for path in paths:
        if not path.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string")
        volumes[path] = {}
    state.config["Volumes"] = volumes
    return f"VOLUME {go_list(paths)}"


def apply_user(state, command) -> str:
    user = substitute(command.text, state.substitution_env(), state.escape)
    if not user:
        raise InvalidArgument("USER requires a user name or ID")
    state.config["User"] = user
    return f"USER {user}"


def apply_stopsignal(state, command) -> str:
    signal = substitute(command.text, state.substitution_env(), state.escape)
    parse_signal(signal)
    state.config["StopSignal"] = signal
    return f"STOPSIGNAL {signal}"


def apply_cmd(state, command) -> str:
    argv = command_argv(state, command)
    state.config["Cmd"] = argv
    state.cmd_set = True
    return f"CMD {go_quoted(argv)}"


def apply_entrypoint(state, command) -> str:
    argv = command_argv(state, command)
    state.config["Entrypoint"] = argv
    if not state.cmd_set:
        # An inherited CMD would become the new entrypoint's arguments: Docker drops it.
        state.config.pop("Cmd", None)
    return f"ENTRYPOINT {go_quoted(argv)}"


def apply_shell(state, command) -> str:
    state.config["Shell"] = list(command.words)
    return f"SHELL {go_list(command.words)}"


def healthcheck_config(command) -> dict:
    """The image config's `Healthcheck` of a HEALTHCHECK command (zero fields left out)."""
    check = {"Test": list(command.test)}
    for key, value in (("Interval", command.interval), ("Timeout", command.timeout),
                       ("StartPeriod", command.start_period),
                       ("StartInterval", command.start_interval),
                       ("Retries", command.retries)):
        if value:
            check[key] = value
    return check


def apply_healthcheck(state, command) -> str:
    state.config["Healthcheck"] = healthcheck_config(command)
    durations = " ".join(json.dumps(go_duration(value)) for value in (
        command.interval, command.timeout, command.start_period, command.start_interval))
    return f"HEALTHCHECK &{{{go_quoted(command.test)} {durations} {_go_rune(command.retries)}}}"


def apply_onbuild(state, command) -> str:
    state.config["OnBuild"] = list(state.config.get("OnBuild") or []) + [command.trigger]
    return f"ONBUILD {command.trigger}"


def apply_maintainer(state, command) -> str:
    state.author = substitute(command.text, state.substitution_env(), state.escape)
    return f"MAINTAINER {state.author}"


APPLY = {
    "ENV": apply_env, "LABEL": apply_label, "EXPOSE": apply_expose, "VOLUME": apply_volume,
    "USER": apply_user, "STOPSIGNAL": apply_stopsignal, "CMD": apply_cmd,
    "ENTRYPOINT": apply_entrypoint, "SHELL": apply_shell, "HEALTHCHECK": apply_healthcheck,
    "ONBUILD": apply_onbuild, "MAINTAINER": apply_maintainer,
}
