"""Variables in Compose files (the spec's "Interpolation") and `.env` files.

`$VAR` and `${VAR}`; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset);
`${VAR:?message}` and `${VAR?message}` (required); `${VAR:+replacement}` and
`${VAR+replacement}`; defaults and messages may themselves hold variables
(`${A:-${B:-x}}`); `$$` is a literal `$`. Only values are interpolated, never keys, and each
file is interpolated on its own before files are merged. A variable that is unset and has
no default becomes the empty string, with a warning.
"""

import re

from runtime.compose.errors import ComposeError
from runtime.compose.source import Override, Reset

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Variables:
    """Where values come from (the environment over the `.env` file, as Compose has it) and
    the warnings about unset ones."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.warnings: list[str] = []

    def get(self, name: str):
        return self.values.get(name)


def substitute(text: str, variables: Variables, where: str) -> str:
    """`text` with its variables replaced; `where` names the value in error messages."""
    if "$" not in text:
        return text
    out, i, length = [], 0, len(text)
    while i < length:
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        following = text[dollar + 1:dollar + 2]
        if following == "$":
            out.append("$")
            i = dollar + 2
        elif following == "{":
            end = _closing_brace(text, dollar + 2)
            if end < 0:
                raise _invalid(text, where)
            out.append(_braced(text[dollar + 2:end], text, variables, where))
            i = end + 1
        else:
            match = _NAME.match(text, dollar + 1)
            if not match:
                raise _invalid(text, where)
            out.append(_value(match.group(), variables))
            i = match.end()
    return "".join(out)


def _invalid(text: str, where: str) -> ComposeError:
    return ComposeError(f'{where}: invalid interpolation format: "{text}"; you may need to '
                        f'escape any $ with another $')


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` that closes a `${` whose body starts at `start`."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _value(name: str, variables: Variables) -> str:
    value = variables.get(name)
    if value is None:
        warning = f'The "{name}" variable is not set. Defaulting to a blank string.'
        if warning not in variables.warnings:
            variables.warnings.append(warning)
        return ""
    return value


def _braced(body: str, text: str, variables: Variables, where: str) -> str:
    match = _NAME.match(body)
    if not match:
        raise _invalid(text, where)
    name, rest = match.group(), body[match.end():]
    if not rest:
        return _value(name, variables)
    value = variables.get(name)
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            word = rest[len(operator):]
            break
    else:
        raise _invalid(text, where)
    colon = operator.startswith(":")
    missing = value is None or (colon and value == "")
    kind = operator[-1]
    if kind == "-":
        return substitute(word, variables, where) if missing else value
    if kind == "+":
        return "" if missing else substitute(word, variables, where)
    if missing:  # "?": required
        message = substitute(word, variables, where)
        raise ComposeError(f"{where}: required variable {name} is missing a value"
                           + (f": {message}" if message else ""))
    return value


def interpolate(data, variables: Variables, describe):
    """A copy of `data` with every string value interpolated (mapping keys are left alone).
    `describe(path)` names a value for messages (file, line and dotted path)."""

    def walk(value, path):
        if isinstance(value, str):
            return substitute(value, variables, describe(path))
        if isinstance(value, dict):
            return {key: walk(item, path + (key,)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, path + (index,)) for index, item in enumerate(value)]
        if isinstance(value, Override):
            return Override(walk(value.value, path))
        if isinstance(value, Reset):
            return value
        return value

    return walk(data, ())


# -- .env files ----------------------------------------------------------------------------

_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def parse_env_file(text: str, name: str, lookup) -> dict[str, str]:
    """A `.env` file as Compose reads it: `KEY=value` lines (`export` allowed), `#` comments,
    single quotes literal, double quotes with escapes and spanning lines, and unquoted or
    double-quoted values interpolated from the variables before them and `lookup(name)`."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            raise ComposeError(f"{name}, line {number}: expected KEY=value, found "
                               f"{stripped[:40]!r}")
        key, raw = match.group(1), match.group(2)
        first_line = number
        quote = raw[:1] if raw[:1] in ("'", '"') else ""
        if quote:
            body = raw[1:]
            while _unescaped_close(body, quote) < 0:
                if number >= len(lines):
                    raise ComposeError(f"{name}, line {first_line}: the quoted value of {key} "
                                       f"is not closed")
                body += "\n" + lines[number]
                number += 1
            close = _unescaped_close(body, quote)
            value, tail = body[:close], body[close + 1:].strip()
            if tail and not tail.startswith("#"):
                raise ComposeError(f"{name}, line {first_line}: unexpected text after the "
                                   f"quoted value of {key}")
            if quote == '"':
                value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)),
                               value, flags=re.S)
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        if quote != "'":
            local = Variables({**{k: v for k, v in _lookup_all(lookup, value).items()},
                               **values})
            value = substitute(value, local, f"{name}, line {first_line}")
        values[key] = value
    return values


def _unescaped_close(body: str, quote: str) -> int:
    i = 0
    while i < len(body):
        if body[i] == "\\" and quote == '"':
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return -1


def _lookup_all(lookup, value: str) -> dict[str, str]:
    """The outside variables a value names (so `lookup` need not be a full mapping)."""
    found = {}
    for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", value):
        result = lookup(name)
        if result is not None:
            found[name] = result
    return found
