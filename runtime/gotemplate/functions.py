"""The functions a template can call: Go's builtins (`and`, `or`, `not`, `len`, `index`,
`slice`, `eq`/`ne`/`lt`/`le`/`gt`/`ge`, `print`, `printf`, `println`, `html`, `js`,
`urlquery`, `call`) and Docker's (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`,
`truncate`), plus the stand-ins Docker uses when it renders a table's header.

A function declares the Go types of its parameters, which decide how arguments are checked
and converted: "string", "int", "bool", "[]string", "any" (interface{}: a missing value
arrives as None) and "value" (reflect.Value: a missing value arrives as NO_VALUE).
"""

from runtime.gotemplate import goformat
from runtime.gotemplate.values import NO_VALUE, TypedNil, is_nil, truth, type_name


class CallError(Exception):
    """A function failed; the template reports `error calling NAME: message`."""


class Function:
    __slots__ = ("name", "params", "variadic", "impl", "builtin")

    def __init__(self, name: str, params: tuple, impl, variadic: str | None = None,
                 builtin: bool = False):
        self.name = name
        self.params = params
        self.variadic = variadic
        self.impl = impl
        self.builtin = builtin


# Comparison.

def _basic_kind(value) -> str:
    """Go's basicKind: the comparable basic kinds, "" for nil and composite values."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    if isinstance(value, str):
        return "string"
    return ""


def _kind(value) -> str:
    """The reflect kind of a value that is not basic ("invalid" for an untyped nil)."""
    if value is None or value is NO_VALUE:
        return "invalid"
    if isinstance(value, (list, tuple)) or (isinstance(value, TypedNil) and value.kind == "slice"):
        return "slice"
    if isinstance(value, dict) or (isinstance(value, TypedNil) and value.kind == "map"):
        return "map"
    if isinstance(value, TypedNil):
        return "ptr"
    return "struct"


def eq(first, *others) -> bool:
    """Go's eq: first == any of the others; basic values of one kind compare by value, nils
    compare with anything nillable, slices and maps only with nil."""
    if not others:
        raise CallError("missing argument for comparison")
    first_kind = _basic_kind(first)
    for other in others:
        other_kind = _basic_kind(other)
        if first_kind != other_kind:
            if _kind(first) != "invalid" and _kind(other) != "invalid":
                raise CallError("incompatible types for comparison")
            equal = False
        elif first_kind:
            equal = first == other
        else:
            kinds = (_kind(first), _kind(other))
            if kinds[0] != kinds[1] and "invalid" not in kinds:
                raise CallError(f"non-comparable types {goformat.value_text(first)}: "
                                f"{type_name(first)}, {type_name(other)}: "
                                f"{goformat.value_text(other)}")
            if is_nil(first) or is_nil(other):
                equal = is_nil(first) and is_nil(other)
            elif kinds[1] in ("slice", "map"):
                raise CallError(f"non-comparable type {goformat.value_text(other)}: "
                                f"{type_name(other)}")
            else:
                equal = first == other
        if equal:
            return True
    return False


def ne(first, second) -> bool:
    return not eq(first, second)


def lt(first, second) -> bool:
    first_kind, second_kind = _basic_kind(first), _basic_kind(second)
    if not first_kind or not second_kind:
        raise CallError("invalid type for comparison")
    if first_kind != second_kind:
        raise CallError("incompatible types for comparison")
    if first_kind in ("bool", "complex"):
        raise CallError("invalid type for comparison")
    return first < second


def le(first, second) -> bool:
    return lt(first, second) or eq(first, second)


def gt(first, second) -> bool:
    return not le(first, second)


def ge(first, second) -> bool:
    return not lt(first, second)


# Indexing, slicing, length.

def _index_of(index, limit: int) -> int:
    if index is None or index is NO_VALUE:
        raise CallError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise CallError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > limit:
        raise CallError(f"index out of range: {index}")
    return index


def _zero_of_map(mapping: dict):
    """The zero value of a map's element type: maps whose values are all strings are taken
    for map[string]string (labels, options), others for map[string]interface{}."""
    return "" if all(isinstance(item, str) for item in mapping.values()) else None


def index(item, *indexes):
    if item is None or item is NO_VALUE:
        raise CallError("index of untyped nil")
    for key in indexes:
        if isinstance(item, TypedNil) and item.kind == "ptr":
            raise CallError("index of nil pointer")
        if isinstance(item, TypedNil):
            item = [] if item.kind == "slice" else {}
        if isinstance(item, (list, tuple, str)):
            data = item.encode() if isinstance(item, str) else item
            position = _index_of(key, len(data))
            if position == len(data):
                raise CallError("reflect: slice index out of range")
            item = data[position]
        elif isinstance(item, dict):
            if key is None or key is NO_VALUE:
                raise CallError("value is nil; should be of type string")
            if not isinstance(key, str):
                raise CallError(f"value has type {type_name(key)}; should be string")
            item = item[key] if key in item else _zero_of_map(item)
        else:
            raise CallError(f"can't index item of type {type_name(item)}")
    return item


def slice_(item, *indexes):
    if item is None or item is NO_VALUE:
        raise CallError("slice of untyped nil")
    if isinstance(item, TypedNil):
        if item.kind != "slice":
            raise CallError(f"can't slice item of type {item.type_name}")
        item = []
    if len(indexes) > 3:
        raise CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise CallError("cannot 3-index slice a string")
        data = item.encode()
    elif isinstance(item, (list, tuple)):
        data = item
    else:
        raise CallError(f"can't slice item of type {type_name(item)}")
    bounds = [0, len(data)]
    for position, key in enumerate(indexes):
        value = _index_of(key, len(data))
        if position < 2:
            bounds[position] = value
        else:
            bounds.append(value)
    if bounds[0] > bounds[1]:
        raise CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(bounds) == 3 and bounds[1] > bounds[2]:
        raise CallError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    result = data[bounds[0]:bounds[1]]
    return result.decode("utf-8", errors="replace") if isinstance(result, bytes) else list(result)


def length(item) -> int:
    if item is NO_VALUE:
        raise CallError("reflect: call of reflect.Value.Type on zero Value")
    if item is None or (isinstance(item, TypedNil) and item.kind == "ptr"):
        raise CallError("len of nil pointer")
    if isinstance(item, TypedNil):
        return 0
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise CallError(f"len of type {type_name(item)}")


def call(name: str, function, *args):
    if function is None or function is NO_VALUE:
        raise CallError("call of nil")
    raise CallError(f"non-function {name} of type {type_name(function)}")


# Escaping.

def _escaper_text(args) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return goformat.sprint(["<no value>" if arg is None or arg is NO_VALUE else arg
                            for arg in args])


def html(*args) -> str:
    text = _escaper_text(args)
    for old, new in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"),
                     (">", "&gt;"), ("\0", "\ufffd")):
        text = text.replace(old, new)
    return text


_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


def js(*args) -> str:
    out = []
    for char in _escaper_text(args):
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u00{ord(char):02X}")
        elif char >= "\x80" and not char.isprintable():
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def urlquery(*args) -> str:
    from urllib.parse import quote_plus
    return quote_plus(_escaper_text(args), safe="")


# Docker's functions (docker/cli templates.go).

def json_(value) -> str:
    try:
        return goformat.json_text(value)
    except ValueError as error:
        raise CallError(str(error)) from None


def split(text: str, separator: str) -> list:
    if separator == "":
        return list(text)
    return text.split(separator)


def join(items: list, separator: str) -> str:
    return separator.join(items)


def _is_word_separator(char: str) -> bool:
    if char <= "\x7f":
        return not (char.isalnum() or char == "_")
    if char.isalpha() or char.isdigit():
        return False
    return char.isspace()


def _map_case(text: str, convert) -> str:
    """Go maps case one character to one character (simple case mapping)."""
    out = []
    for char in text:
        converted = convert(char)
        out.append(converted if len(converted) == 1 else char)
    return "".join(out)


def title(text: str) -> str:
    """strings.Title: the first letter of every word upper-cased."""
    out, previous = [], " "
    for char in text:
        out.append(_map_case(char, str.upper) if _is_word_separator(previous) else char)
        previous = char
    return "".join(out)


def upper(text: str) -> str:
    return _map_case(text, str.upper)


def lower(text: str) -> str:
    return _map_case(text, str.lower)


def pad(text: str, prefix: int, suffix: int) -> str:
    if text == "":
        return text
    if prefix < 0 or suffix < 0:
        raise CallError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix


def truncate(text: str, size: int) -> str:
    data = text.encode()
    if len(data) < size:
        return text
    if size < 0:
        raise CallError(f"runtime error: slice bounds out of range [:{size}]")
    return data[:size].decode("utf-8", errors="ignore")


def _builtin(name, params, impl, variadic=None):
    return Function(name, params, impl, variadic, builtin=True)


BUILTINS = {function.name: function for function in (
    _builtin("and", ("value",), None, "value"),
    _builtin("or", ("value",), None, "value"),
    _builtin("not", ("value",), lambda value: not truth(value)),
    _builtin("len", ("value",), length),
    _builtin("index", ("value",), index, "value"),
    _builtin("slice", ("value",), slice_, "value"),
    _builtin("call", ("value",), call, "value"),
    _builtin("eq", ("value",), eq, "value"),
    _builtin("ne", ("value", "value"), ne),
    _builtin("lt", ("value", "value"), lt),
    _builtin("le", ("value", "value"), le),
    _builtin("gt", ("value", "value"), gt),
    _builtin("ge", ("value", "value"), ge),
    _builtin("print", (), lambda *args: goformat.sprint(list(args)), "any"),
    _builtin("println", (), lambda *args: goformat.sprintln(list(args)), "any"),
    _builtin("printf", ("string",), lambda text, *args: goformat.sprintf(text, list(args)),
             "any"),
    _builtin("html", (), html, "any"),
    _builtin("js", (), js, "any"),
    _builtin("urlquery", (), urlquery, "any"),
)}

DOCKER_FUNCTIONS = {function.name: function for function in (
    Function("json", ("any",), json_),
    Function("split", ("string", "string"), split),
    Function("join", ("[]string", "string"), join),
    Function("title", ("string",), title),
    Function("lower", ("string",), lower),
    Function("upper", ("string",), upper),
    Function("pad", ("string", "int", "int"), pad),
    Function("truncate", ("string", "int"), truncate),
)}

# What Docker renders a table's header with: the column names pass through unchanged
# (`pad` stays, to keep the columns aligned).
HEADER_FUNCTIONS = {function.name: function for function in (
    Function("json", ("string",), lambda text: text),
    Function("split", ("string", "string"), lambda text, _: text),
    Function("join", ("string", "string"), lambda text, _: text),
    Function("title", ("string",), lambda text: text),
    Function("lower", ("string",), lambda text: text),
    Function("upper", ("string",), lambda text: text),
    Function("truncate", ("string", "int"), lambda text, _: text),
)}

