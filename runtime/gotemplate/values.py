"""How Python values stand for the Go values a template sees.

- `str`, `bool`, `int`, `float`, `complex`: string, bool, int, float64, complex128, printed as
  Go's `fmt` prints them (`true`, `1e+06`, `(1+2i)`).
- `list`, `tuple`: a slice (`[]interface {}`), printed `[a b]`.
- `dict`: a map (`map[string]interface {}`): a missing key is `<no value>`; printed
  `map[k:v]` with sorted keys, and ranged in that order.
- `None`: the nil of an interface (JSON's null), printed `<no value>` (`<nil>` by `print`).
- `Struct(fields)`: a struct: an unknown field is an error; printed `{v1 v2}`.
- `NIL_SLICE`, `NIL_MAP`, `NIL_POINTER`: typed nils, printed `[]`, `map[]`, `<nil>`.
- an object whose methods are marked `@go_method`: a Go value with methods (Docker's
  formatter contexts); printed as its `go_json()` struct.

`NO_VALUE` is Go's invalid `reflect.Value`: what a missing map key or a nil interface
evaluates to, printed `<no value>`.
"""


class _NoValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


class Struct:
    """A Go struct seen through a dict: its fields are the dict's keys, in order.

    `wrap(name, value)`, when given, turns a field's raw value into the Go value the template
    sees (say a nested dict into another Struct) when the field is read. Without `type_name`,
    an unknown field fails as a JSON document read with missingkey=error does (`map has no
    entry for key "Foo"`, what `docker inspect` reports); with one, as a Go struct does
    (`can't evaluate field Foo in type T`).
    """

    __slots__ = ("fields", "type_name", "wrap")

    def __init__(self, fields: dict, type_name: str | None = None, wrap=None):
        self.fields = fields
        self.type_name = type_name
        self.wrap = wrap

    def get(self, name: str):
        """The field's Go value; KeyError when the struct has no such field."""
        value = self.fields[name]
        return self.wrap(name, value) if self.wrap else value

    def items(self):
        for name in self.fields:
            yield name, self.get(name)

    def __eq__(self, other) -> bool:
        return isinstance(other, Struct) and self.fields == other.fields

    def __hash__(self) -> int:
        return id(self)


class TypedNil:
    """The nil of a typed Go slice, map or pointer (a struct field that JSON has as null)."""

    __slots__ = ("kind", "type_name")

    def __init__(self, kind: str, type_name: str):
        self.kind = kind
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"TypedNil({self.kind})"


NIL_SLICE = TypedNil("slice", "[]string")
NIL_MAP = TypedNil("map", "map[string]string")
NIL_POINTER = TypedNil("ptr", "*struct")


def go_method(*params: str):
    """Expose a method to templates, with the Go types of its parameters ("string", "int",
    "bool", "[]string", "any"): `{{.Label "com.example"}}` calls `Label(self, name)`."""
    def mark(function):
        function.go_params = params
        return function
    return mark


_PLAIN_TYPES = (str, bool, int, float, complex, list, tuple, dict, TypedNil, _NoValue,
                type(None))


_METHODS: dict = {}


def method_of(value, name: str):
    """The template method `name` of a value's type (a Struct or dict subclass, or any
    object) as its plain function, or None; looked up once per type and name."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return None
    key = (kind, name)
    if key not in _METHODS:
        function = getattr(kind, name, None)
        _METHODS[key] = function if hasattr(function, "go_params") else None
    return _METHODS[key]


def type_name(value) -> str:
    """Go's name of the value's type, as `%T` and error messages write it."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, Struct):
        return value.type_name or "map[string]interface {}"
    if isinstance(value, TypedNil):
        return value.type_name
    return getattr(type(value), "go_type", type(value).__name__)


def is_nil(value) -> bool:
    return value is None or value is NO_VALUE or isinstance(value, TypedNil)


def truth(value) -> bool:
    """Go's template truth: false, 0, empty and nil are false; structs are always true."""
    if value is None or value is NO_VALUE or isinstance(value, TypedNil):
        return False
    if isinstance(value, (bool, int, float, complex, str, list, tuple, dict)):
        return bool(value)
    return True


def sorted_keys(mapping: dict) -> list:
    """Map keys in the order Go prints and ranges over them (fmtsort): numbers by value,
    strings by bytes, mixed types by type first."""
    def key(item):
        if isinstance(item, bool):
            return (0, item)
        if isinstance(item, (int, float)):
            return (1, item)
        if isinstance(item, str):
            return (2, item)
        return (3, str(item))
    return sorted(mapping, key=key)


def to_plain(value):
    """The value as JSON-able Python, in the order Go's encoding/json writes it: structs in
    field order, maps with sorted keys, typed nils as null."""
    if value is NO_VALUE or value is None or isinstance(value, TypedNil):
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, complex):
        raise ValueError("json: unsupported type: complex128")
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(value[key]) for key in sorted_keys(value)}
    if isinstance(value, Struct):
        return {name: to_plain(item) for name, item in value.items()}
    plain = getattr(value, "go_json", None)
    if plain is not None:
        return to_plain(plain())
    return str(value)
