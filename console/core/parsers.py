"""Reading JSON request bodies without letting them break the code that reads them further on.

Python's own parser gives up on JSON nested about a thousand levels deep with a
RecursionError (a 500), and anything that walks the data recursively (redaction, the audit
log, the database's JSON functions) far sooner; a NUL character fits in a JSON string but in
no argument, environment variable, path or PostgreSQL text column. Both are refused here, as
a 400 saying so, before any view sees the data; the websockets' text frames are read the same
way (`frame`).
"""
import json

from rest_framework import parsers

from console.core.errors import Invalid

MAX_DEPTH = 32
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."


def loads(text):
    """The JSON document `text` (str or bytes), checked by `check`; Invalid otherwise."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise Invalid(TOO_DEEP) from None
    except ValueError as error:
        raise Invalid(f"JSON parse error - {error}") from None
    check(data)
    return data


def check(data) -> None:
    """Refuse (Invalid) a document nested deeper than MAX_DEPTH, or holding a NUL character in
    a string or a key (said beside the top-level field it is in). Walked with a stack, not
    recursion."""
    stack = [(data, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                nul_in(field)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise Invalid(TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    nul_in(field or key.replace("\x00", "\\0"))
                stack.append((item, depth + 1, field or key))
        else:
            stack.extend((item, depth + 1, field) for item in value)


def frame(text) -> dict:
    """A websocket text frame that must hold a JSON object, read with `loads`' limits;
    ValueError with a one-line reason otherwise."""
    try:
        data = loads(text or "")
    except Invalid as error:
        raise ValueError(error.message) from None
    if not isinstance(data, dict):
        raise ValueError("text frames are JSON objects")
    return data


def nul_in(field):
    message = "NUL characters are not accepted."
    raise Invalid(message, fields={field: [message]} if field else None)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with `check`'s limits (the API's default JSON parser)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise Invalid(TOO_DEEP) from None
        check(data)
        return data
