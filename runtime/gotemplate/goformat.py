"""Go's `fmt` for template values: `%v` printing (`[a b]`, `map[k:v]`, `<nil>`, `1e+06`),
`print`, `println`, `printf` with Go's verbs, flags and error forms (`%!d(string=x)`,
`%!d(MISSING)`, `%!(EXTRA int=2)`), and `strconv.Quote`.
"""

import math

from runtime.gotemplate.values import NO_VALUE, Struct, TypedNil, sorted_keys, to_plain, type_name

_NAMED_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\v": "\\v", "\\": "\\\\"}


def quote(text: str, ascii_only: bool = False, quote_char: str = '"') -> str:
    """strconv.Quote: Go's escapes, printable characters kept."""
    out = [quote_char]
    for char in text:
        if char == quote_char:
            out.append("\\" + char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif char.isprintable() and (char < "\x80" or not ascii_only):
            out.append(char)
        elif char < " " or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append(quote_char)
    return "".join(out)


def _can_backquote(text: str) -> bool:
    return all(char == "\t" or (char >= " " and char not in "`\x7f\ufeff") for char in text)


# Floats.

def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip, and the decimal point's position."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0)
    if not digits:
        return "0", 1
    leading = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    point -= leading
    return digits.rstrip("0") or "0", point


def _shortest_form(value: float, form: str, upper: bool = False) -> str:
    """A finite float's shortest round-tripping digits in Go's 'e' or 'f' layout."""
    digits, point = _shortest_digits(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if form == "e":
        exponent = point - 1 if digits != "0" else 0
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return (f"{sign}{mantissa}{'E' if upper else 'e'}{'-' if exponent < 0 else '+'}"
                f"{abs(exponent):02d}")
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def format_float(value: float, verb: str = "g", precision: int = -1, sharp: bool = False) -> str:
    """strconv.FormatFloat for 'e', 'E', 'f', 'F', 'g', 'G' (precision -1: shortest; %v is
    shortest 'g', which switches to the exponent form below 1e-4 and from 1e+06)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if verb in "gG" and precision < 0:
        digits, point = _shortest_digits(value)
        exponent = point - 1
        if digits != "0" and (exponent < -4 or exponent >= 6):
            return _shortest_form(value, "e", upper=verb == "G")
        return _shortest_form(value, "f")
    if verb in "eEfF" and precision < 0:
        precision = 6
    if verb == "F":
        verb = "f"
    return f"{value:{'#' if sharp else ''}.{precision}{verb}}"


def hex_float(value: float, upper: bool = False) -> str:
    """Go's %x of a float: 0x1.8p+01."""
    if math.isnan(value) or math.isinf(value):
        return format_float(value)
    text = float.hex(value)
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")[2:]
    mantissa, _, exponent = text.partition("p")
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0")
    exponent_value = int(exponent)
    if value == 0:
        exponent_value = 0
    result = f"{sign}0x{whole}{'.' + fraction if fraction else ''}p" \
             f"{'-' if exponent_value < 0 else '+'}{abs(exponent_value):02d}"
    return result.upper() if upper else result


def binary_float(value: float) -> str:
    """Go's %b of a float: decimalless mantissa and binary exponent."""
    if value == 0:
        return "0p-1074"
    mantissa, exponent = math.frexp(abs(value))
    bits = int(mantissa * (1 << 53))
    sign = "-" if value < 0 else ""
    power = exponent - 53
    return f"{sign}{bits}p{'-' if power < 0 else '+'}{abs(power)}"


# %v printing.

def value_text(value, plus: bool = False) -> str:
    """fmt's %v (and %+v) of a template value."""
    return _Printer(_Spec(plus_v=plus)).format(value, "v")


def sprint(args: list) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out, previous_string = [], True
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append(value_text(arg))
        previous_string = is_string
    return "".join(out)


def sprintln(args: list) -> str:
    return " ".join(value_text(arg) for arg in args) + "\n"


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "precision", "plus_v",
                 "sharp_v")

    def __init__(self, plus_v: bool = False):
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width = self.precision = None
        self.plus_v = plus_v
        self.sharp_v = False


class _Printer:
    """Formats one argument for one verb with the flags of a `_Spec`, as fmt's pp does."""

    def __init__(self, spec: _Spec):
        self.spec = spec

    def pad(self, text: str, zero_ok: bool = True) -> str:
        spec = self.spec
        if spec.width is None or len(text) >= spec.width:
            return text
        fill = spec.width - len(text)
        if spec.minus:
            return text + " " * fill
        if spec.zero and zero_ok:
            return "0" * fill + text
        return " " * fill + text

    def bad_verb(self, verb: str, value) -> str:
        if value is None or value is NO_VALUE:
            return f"%!{verb}(<nil>)"
        return f"%!{verb}({type_name(value)}={_Printer(_Spec()).format(value, 'v')})"

    def format(self, value, verb: str) -> str:
        spec = self.spec
        if verb == "T":
            return self.pad(type_name(value), zero_ok=False)
        if value is None or value is NO_VALUE:
            return self.pad("<nil>", zero_ok=False) if verb == "v" else self.bad_verb(verb, None)
        if isinstance(value, bool):
            if verb in "tv":
                return self.pad("true" if value else "false", zero_ok=False)
            return self.bad_verb(verb, value)
        if isinstance(value, int):
            return self.integer(value, verb)
        if isinstance(value, float):
            return self.floating(value, verb)
        if isinstance(value, complex):
            if verb not in "veEfFgGxXb":
                return self.bad_verb(verb, value)
            saved_width, spec.width = spec.width, None
            real = self.floating(value.real, verb)
            saved_plus, spec.plus = spec.plus, True
            imaginary = self.floating(value.imag, verb)
            spec.plus, spec.width = saved_plus, saved_width
            return self.pad(f"({real}{imaginary}i)")
        if isinstance(value, str):
            return self.string(value, verb)
        if isinstance(value, (list, tuple)) or (isinstance(value, TypedNil) and
                                                value.kind == "slice"):
            items = [] if isinstance(value, TypedNil) else value
            if spec.sharp_v:
                return "[]interface {}{" + ", ".join(self.format(i, verb) for i in items) + "}"
            return "[" + " ".join(self.format(item, verb) for item in items) + "]"
        if isinstance(value, dict) or (isinstance(value, TypedNil) and value.kind == "map"):
            items = {} if isinstance(value, TypedNil) else value
            parts = [f"{self.format(key, verb)}:{self.format(items[key], verb)}"
                     for key in sorted_keys(items)]
            if spec.sharp_v:
                return "map[string]interface {}{" + ", ".join(parts) + "}"
            return "map[" + " ".join(parts) + "]"
        if isinstance(value, TypedNil):
            return self.pad("<nil>", zero_ok=False) if verb == "v" else \
                f"%!{verb}({value.type_name}=<nil>)"
        if isinstance(value, Struct):
            return self.structure(list(value.items()), verb)
        text = getattr(value, "go_string", None)
        if text is not None:
            return self.string(text(), verb)
        plain = getattr(value, "go_json", None)
        if plain is not None:
            return self.structure(list(plain().items()), verb)
        return self.string(str(value), verb)

    def structure(self, fields: list, verb: str) -> str:
        if self.spec.plus_v or self.spec.sharp_v:
            return "{" + " ".join(f"{name}:{self.format(item, verb)}"
                                  for name, item in fields) + "}"
        return "{" + " ".join(self.format(item, verb) for _, item in fields) + "}"

    def integer(self, value: int, verb: str) -> str:
        spec = self.spec
        if verb == "c":
            return self.pad(_char(value), zero_ok=False)
        if verb == "q":
            return self.pad(_quote_rune(value, spec.sharp, spec.plus), zero_ok=False)
        if verb == "U":
            text = f"U+{value:04X}" if value >= 0 else f"U+{value & 0xFFFFFFFFFFFFFFFF:04X}"
            if spec.sharp and 0 <= value <= 0x10FFFF and chr(value).isprintable():
                text += f" '{chr(value)}'"
            return self.pad(text, zero_ok=False)
        python_verb = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x",
                       "X": "X"}.get(verb)
        if python_verb is None:
            return self.bad_verb(verb, value)
        digits = format(abs(value), python_verb)
        if spec.precision is not None:
            if spec.precision == 0 and value == 0:
                digits = ""
            digits = digits.rjust(spec.precision, "0")
        prefix = ""
        if verb == "O" or (spec.sharp and verb == "o" and not digits.startswith("0")):
            prefix = "0o" if verb == "O" else "0"
        elif spec.sharp and verb in "xX":
            prefix = "0x" if verb == "x" else "0X"
        elif spec.sharp and verb == "b":
            prefix = "0b"
        sign = "-" if value < 0 else "+" if spec.plus else " " if spec.space else ""
        if spec.zero and not spec.minus and spec.width is not None and spec.precision is None:
            # As Go: the digits are zero-padded to the width (less the sign), the base prefix
            # comes on top.
            return sign + prefix + digits.rjust(spec.width - len(sign), "0")
        return self.pad(sign + prefix + digits, zero_ok=False)

    def floating(self, value: float, verb: str) -> str:
        spec = self.spec
        if verb not in "veEfFgGxXb":
            return self.bad_verb(verb, value)
        if verb == "b":
            text = binary_float(value)
        elif verb in "xX":
            text = hex_float(value, upper=verb == "X")
        else:
            go_verb = "g" if verb == "v" else verb
            precision = -1 if spec.precision is None else spec.precision
            text = format_float(value, go_verb, precision, spec.sharp)
        if spec.plus and not text.startswith(("-", "+")):
            text = "+" + text
        elif spec.space and not text.startswith(("-", "+")):
            text = " " + text
        finite = not (math.isinf(value) or math.isnan(value))
        if spec.zero and not spec.minus and spec.width is not None and finite:
            sign = text[0] if text[0] in "+- " else ""
            return sign + text[len(sign):].rjust(spec.width - len(sign), "0")
        return self.pad(text, zero_ok=False)

    def string(self, text: str, verb: str) -> str:
        spec = self.spec
        if verb in "vs":
            if spec.precision is not None:
                text = text[:spec.precision]
            if verb == "v" and spec.sharp_v:
                return self.pad(quote(text))
            return self.pad(text)
        if verb == "q":
            if spec.precision is not None:
                text = text[:spec.precision]
            if spec.sharp and _can_backquote(text):
                return self.pad("`" + text + "`")
            return self.pad(quote(text, ascii_only=spec.plus))
        if verb in "xX":
            data = text.encode()
            if spec.precision is not None:
                data = data[:spec.precision]
            pattern = "{:02x}" if verb == "x" else "{:02X}"
            prefix = ("0x" if verb == "x" else "0X") if spec.sharp else ""
            if spec.space:
                encoded = " ".join(prefix + pattern.format(byte) for byte in data)
            else:
                encoded = prefix + "".join(pattern.format(byte) for byte in data)
            return self.pad(encoded)
        return self.bad_verb(verb, text)


def _char(value: int) -> str:
    try:
        return chr(value)
    except (ValueError, OverflowError):
        return "\ufffd"


def _quote_rune(value: int, sharp: bool, ascii_only: bool) -> str:
    char = _char(value)
    if sharp and char.isprintable() and char != "'":
        return f"'{char}'"
    return quote(char, ascii_only=ascii_only, quote_char="'")


def sprintf(template: str, args: list) -> str:
    """fmt.Sprintf with Go's verbs, flags, widths, precisions, `*`, `%[n]` and error forms."""
    out = []
    index, length = 0, len(template)
    argument = 0
    reordered = False
    while index < length:
        percent = template.find("%", index)
        if percent < 0:
            out.append(template[index:])
            break
        out.append(template[index:percent])
        index = percent + 1
        spec = _Spec()
        while index < length and template[index] in "#0+- ":
            flag = template[index]
            if flag == "#":
                spec.sharp = True
            elif flag == "0":
                spec.zero = not spec.minus
            elif flag == "+":
                spec.plus = True
            elif flag == "-":
                spec.minus, spec.zero = True, False
            else:
                spec.space = True
            index += 1
        argument, index, ok = _arg_index(template, index, argument, len(args))
        reordered = reordered or not ok or template[percent:index].count("[") > 0
        bad_index = not ok
        # Width.
        if index < length and template[index] == "*":
            index += 1
            if argument < len(args) and isinstance(args[argument], int) and \
                    not isinstance(args[argument], bool):
                spec.width = args[argument]
                if spec.width < 0:
                    spec.minus, spec.zero, spec.width = True, False, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argument += 1
        else:
            start = index
            while index < length and template[index].isdigit():
                index += 1
            if index > start:
                spec.width = int(template[start:index])
        # Precision.
        if index < length and template[index] == ".":
            index += 1
            argument, index, ok = _arg_index(template, index, argument, len(args))
            bad_index = bad_index or not ok
            if index < length and template[index] == "*":
                index += 1
                if argument < len(args) and isinstance(args[argument], int) and \
                        not isinstance(args[argument], bool) and args[argument] >= 0:
                    spec.precision = args[argument]
                else:
                    out.append("%!(BADPREC)")
                argument += 1
            else:
                start = index
                while index < length and template[index].isdigit():
                    index += 1
                spec.precision = int(template[start:index]) if index > start else 0
        argument, index, ok = _arg_index(template, index, argument, len(args))
        bad_index = bad_index or not ok
        if index >= length:
            out.append("%!(NOVERB)")
            break
        verb = template[index]
        index += 1
        if verb == "%":
            out.append("%")
            continue
        if bad_index:
            out.append(f"%!{verb}(BADINDEX)")
            continue
        if argument >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        if verb == "v":
            spec.sharp_v, spec.sharp = spec.sharp, False
            spec.plus_v, spec.plus = spec.plus, False
        value = args[argument]
        argument += 1
        out.append(_Printer(spec).format(value, verb))
    if not reordered and argument < len(args):
        extra = []
        for value in args[argument:]:
            extra.append("<nil>" if value is None or value is NO_VALUE
                         else f"{type_name(value)}={value_text(value)}")
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


def _arg_index(template: str, index: int, argument: int, count: int) -> tuple[int, int, bool]:
    """An explicit argument index `[n]` at `index`: (next argument, new index, ok)."""
    if index >= len(template) or template[index] != "[":
        return argument, index, True
    close = template.find("]", index)
    if close < 0 or not template[index + 1:close].isdigit():
        return argument, (close + 1 if close >= 0 else len(template)), False
    wanted = int(template[index + 1:close]) - 1
    if wanted < 0 or wanted >= count:
        return argument, close + 1, False
    return wanted, close + 1, True


def json_text(value) -> str:
    """Docker's `json` template function: Go's encoding/json, compact, without HTML
    escaping; structs in field order, maps with sorted keys. A value with a `go_json`
    method stands for a Go type with its own MarshalJSON (Docker's formatter contexts),
    which json.Marshal writes, escaping <, > and & as Go does."""
    return _json(to_plain(value), escape_html=hasattr(value, "go_json"))


def _json(value, escape_html: bool = False) -> str:
    import json
    if isinstance(value, dict):
        return "{" + ",".join(_json_string(str(key), escape_html) + ":" +
                              _json(item, escape_html) for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(item, escape_html) for item in value) + "]"
    if isinstance(value, str):
        return _json_string(value, escape_html)
    if isinstance(value, float) and not isinstance(value, bool):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"json: unsupported value: {format_float(value)}")
        magnitude = abs(value)
        if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
            text = _shortest_form(value, "e")
            return text[:-2] + text[-1] if text[-4:-1] == "e-0" else text
        return _shortest_form(value, "f")
    return json.dumps(value)


def _json_string(text: str, escape_html: bool = False) -> str:
    import json
    encoded = json.dumps(text, ensure_ascii=False)
    encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html:
        encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e") \
            .replace("&", "\\u0026")
    return encoded
