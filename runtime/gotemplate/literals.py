"""Go's literals in templates: strconv.Unquote for "strings" and `raw strings`, and numbers
as Go's parse.newNumber reads them (ideal constants: one literal may be an int, a float and a
complex at once; 0x, 0o, 0b, old-style 0 octal, underscores, hex floats, 'c' runes)."""

import re

from runtime.gotemplate import lexer as lx, nodes as n
from runtime.gotemplate.goformat import quote

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\"}


def _unquote_char(text: str, index: int, quote_char: str) -> tuple[str | bytes, int]:
    """One (possibly escaped) character of a Go string or rune literal at `index`: the
    character (or, for \\x and octal escapes, a byte) and the index after it."""
    char = text[index]
    if char != "\\":
        if char == quote_char or char == "\n":
            raise ValueError("invalid syntax")
        return char, index + 1
    if index + 1 >= len(text):
        raise ValueError("invalid syntax")
    escape = text[index + 1]
    if escape in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[escape], index + 2
    if escape == quote_char and quote_char in "'\"":
        return escape, index + 2
    if escape in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[escape]
        digits = text[index + 2:index + 2 + size]
        if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError("invalid syntax")
        value = int(digits, 16)
        if escape == "x":
            return bytes([value]) if quote_char != "'" else chr(value), index + 2 + size
        if value > 0x10FFFF or 0xD800 <= value < 0xE000:
            raise ValueError("invalid syntax")
        return chr(value), index + 2 + size
    if escape in "01234567":
        digits = text[index + 1:index + 4]
        if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
            raise ValueError("invalid syntax")
        value = int(digits, 8)
        return bytes([value]) if quote_char != "'" else chr(value), index + 4
    raise ValueError("invalid syntax")


def unquote(quoted: str) -> str:
    """strconv.Unquote of a "double-quoted" or `raw` string literal."""
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in '"`':
        raise ValueError("invalid syntax")
    body = quoted[1:-1]
    if quoted[0] == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    pieces: list[bytes] = []
    index = 0
    while index < len(body):
        piece, index = _unquote_char(body, index, '"')
        pieces.append(piece if isinstance(piece, bytes) else piece.encode())
    return b"".join(pieces).decode("utf-8", errors="replace")


_INTEGER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def _parse_integer(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 0)'s syntax, without its range: None when not an integer."""
    if not _INTEGER.fullmatch(text):
        return None
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if len(body) > 1 and body[0] == "0" and body[1] not in "xXoObB":
        body = "0o" + body[1:]           # a leading 0 is octal, as in Go
    try:
        return sign * int(body, 0)
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
    body = text.replace("_", "")
    try:
        if body.lstrip("+-")[:2] in ("0x", "0X"):
            return float.fromhex(body)
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
            return None
        return float(body)
    except (ValueError, OverflowError):
        return None


def _simplify_complex(node: n.NumberNode) -> None:
    node.is_float = node.complex_value.imag == 0
    if node.is_float:
        node.float_value = node.complex_value.real
        whole = node.float_value.is_integer()
        node.is_int = whole and _INT64_MIN <= node.float_value <= _INT64_MAX
        node.is_uint = whole and 0 <= node.float_value <= _UINT64_MAX
        if node.is_int or node.is_uint:
            node.int_value = int(node.float_value)


def number_node(pos: int, text: str, item_type: str) -> n.NumberNode:
    """A number literal as Go's parse.newNumber reads it; ValueError with Go's message."""
    node = n.NumberNode(pos, text)
    if item_type == lx.CHAR_CONSTANT:
        char, end = _unquote_char(text, 1, "'")
        if end != len(text) - 1 or text[-1] != "'":
            raise ValueError(f"malformed character constant: {text}")
        value = ord(char) if isinstance(char, str) else char[0]
        node.is_int = node.is_uint = node.is_float = True
        node.int_value, node.float_value = value, float(value)
        return node
    if item_type == lx.COMPLEX:
        try:
            node.complex_value = complex(text.replace("_", "")[:-1] + "j")
        except ValueError:
            raise ValueError(f"illegal number syntax: {quote(text)}") from None
        node.is_complex = True
        _simplify_complex(node)
        return node
    if text.endswith("i"):
        imaginary = _parse_float(text[:-1])
        if imaginary is None:
            whole = _parse_integer(text[:-1])
            imaginary = float(whole) if whole is not None else None
        if imaginary is not None:
            node.is_complex = True
            node.complex_value = complex(0, imaginary)
            _simplify_complex(node)
            return node
    integer = _parse_integer(text)
    if integer is not None:
        node.is_uint = 0 <= integer <= _UINT64_MAX
        node.is_int = _INT64_MIN <= integer <= _INT64_MAX
        if node.is_int or node.is_uint:
            node.int_value = integer
            node.is_float = True
            node.float_value = float(integer)
    if not (node.is_int or node.is_uint):
        value = _parse_float(text)
        if value is not None:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {quote(text)}")
            node.is_float = True
            node.float_value = value
            if value.is_integer():
                node.is_int = _INT64_MIN <= value <= _INT64_MAX
                node.is_uint = 0 <= value <= _UINT64_MAX
                node.int_value = int(value)
    if not (node.is_int or node.is_uint or node.is_float):
        raise ValueError(f"illegal number syntax: {quote(text)}")
    return node
