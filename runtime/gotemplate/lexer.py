"""The lexer of Go's text/template: turns template text into items, with Go's rules for
delimiters, trim markers (`{{- ` and ` -}}`), comments, strings, numbers and keywords.

Positions are character offsets into the text; `line` is the 1-based line an item starts on.
A lexing error ends the list with an ERROR item whose value is Go's message, so the parser
reports it at the point it reaches it, as Go's does.
"""

# Item types.
ERROR = "error"
BOOL = "bool"
CHAR = "char"                   # a printable ASCII character: the grab bag (`,`, `}`...)
CHAR_CONSTANT = "char constant"
COMPLEX = "complex"
ASSIGN = "="
DECLARE = ":="
EOF = "EOF"
FIELD = "field"
IDENTIFIER = "identifier"
LEFT_DELIM = "left delim"
LEFT_PAREN = "("
NUMBER = "number"
PIPE = "|"
RAW_STRING = "raw string"
RIGHT_DELIM = "right delim"
RIGHT_PAREN = ")"
SPACE = "space"
STRING = "string"
TEXT = "text"
VARIABLE = "variable"
# Keywords.
BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL, RANGE, TEMPLATE, WITH = (
    "block", "break", "continue", ".", "define", "else", "end", "if", "nil", "range",
    "template", "with")
KEYWORDS = {word: word for word in (BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL,
                                    RANGE, TEMPLATE, WITH)}

LEFT, RIGHT = "{{", "}}"
LEFT_COMMENT, RIGHT_COMMENT = "/*", "*/"
SPACE_CHARS = " \t\r\n"


class Item:
    """One token: its type, its offset in the text, its text, and the line it starts on."""
    __slots__ = ("type", "pos", "value", "line")

    def __init__(self, item_type: str, pos: int, value: str, line: int):
        self.type = item_type
        self.pos = pos
        self.value = value
        self.line = line

    def __str__(self) -> str:
        """As Go's item.String() shows a token in a parse error."""
        from runtime.gotemplate.goformat import quote
        if self.type == EOF:
            return "EOF"
        if self.type == ERROR:
            return self.value
        if self.type in KEYWORDS:
            return f"<{self.value}>"
        if len(self.value) > 10:
            return quote(self.value[:10]) + "..."
        return quote(self.value)


def _is_space(char: str) -> bool:
    return char in SPACE_CHARS and char != ""


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdigit()


def _has_left_trim_marker(text: str) -> bool:
    return len(text) >= 2 and text[0] == "-" and _is_space(text[1])


def _has_right_trim_marker(text: str) -> bool:
    return len(text) >= 2 and _is_space(text[0]) and text[1] == "-"


class Lexer:
    """Go's state machine, run to the end: `items` holds everything it produced."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.start = 0
        self.line = 1
        self.start_line = 1
        self.paren_depth = 0
        self.at_eof = False
        self.items: list[Item] = []
        state = self.lex_text
        while state is not None:
            state = state()

    # Primitives.

    def next(self) -> str:
        if self.pos >= len(self.text):
            self.at_eof = True
            return ""
        char = self.text[self.pos]
        self.pos += 1
        if char == "\n":
            self.line += 1
        return char

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.text[self.pos] == "\n":
                self.line -= 1

    def emit(self, item_type: str) -> None:
        self.items.append(Item(item_type, self.start, self.text[self.start:self.pos],
                               self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def ignore(self) -> None:
        self.line += self.text.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        char = self.next()
        if char and char in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            char = self.next()
            if not char or char not in valid:
                break
        self.backup()

    def error(self, message: str):
        self.items.append(Item(ERROR, self.start, message, self.start_line))
        return None

    def at_right_delim(self) -> tuple[bool, bool]:
        """(at a right delimiter, with a trim marker before it)."""
        rest = self.text[self.pos:]
        if _has_right_trim_marker(rest) and rest[2:].startswith(RIGHT):
            return True, True
        return rest.startswith(RIGHT), False

    def at_terminator(self) -> bool:
        char = self.peek()
        if _is_space(char) or char in ("", ".", ",", "|", ":", ")", "("):
            return True
        return self.text.startswith(RIGHT, self.pos)

    # States.

    def lex_text(self):
        found = self.text.find(LEFT, self.pos)
        if found >= 0:
            if found > self.pos:
                self.pos = found
                trim = 0
                if _has_left_trim_marker(self.text[found + len(LEFT):]):
                    text = self.text[self.start:self.pos]
                    trim = len(text) - len(text.rstrip(SPACE_CHARS))
                self.pos -= trim
                self.line += self.text.count("\n", self.start, self.pos)
                if self.pos > self.start:
                    self.items.append(Item(TEXT, self.start, self.text[self.start:self.pos],
                                           self.start_line))
                self.start = self.pos
                self.start_line = self.line
                self.pos += trim
                self.ignore()
            return self.lex_left_delim
        self.pos = len(self.text)
        if self.pos > self.start:
            self.line += self.text.count("\n", self.start, self.pos)
            self.emit(TEXT)
        self.emit(EOF)
        return None

    def lex_left_delim(self):
        self.pos += len(LEFT)
        after_marker = 2 if _has_left_trim_marker(self.text[self.pos:]) else 0
        if self.text.startswith(LEFT_COMMENT, self.pos + after_marker):
            self.pos += after_marker
            self.ignore()
            return self.lex_comment
        self.emit(LEFT_DELIM)
        self.pos += after_marker
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):
        self.pos += len(LEFT_COMMENT)
        end = self.text.find(RIGHT_COMMENT, self.pos)
        if end < 0:
            return self.error("unclosed comment")
        self.pos = end + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            return self.error("comment ends before closing delimiter")
        if trim:
            self.pos += 2
        self.pos += len(RIGHT)
        if trim:
            rest = self.text[self.pos:]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self):
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT)
        self.emit(RIGHT_DELIM)
        if trim:
            rest = self.text[self.pos:]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            return self.error("unclosed left paren")
        char = self.next()
        if char == "":
            return self.error("unclosed action")
        if _is_space(char):
            self.backup()
            return self.lex_space
        if char == "=":
            self.emit(ASSIGN)
        elif char == ":":
            if self.next() != "=":
                return self.error("expected :=")
            self.emit(DECLARE)
        elif char == "|":
            self.emit(PIPE)
        elif char == '"':
            return self.lex_quote
        elif char == "`":
            return self.lex_raw_quote
        elif char == "$":
            return self.lex_variable
        elif char == "'":
            return self.lex_char
        elif char == "." and self.pos < len(self.text) and not "0" <= self.peek() <= "9":
            return self.lex_field
        elif char in "+-." or "0" <= char <= "9":
            self.backup()
            return self.lex_number
        elif _is_alphanumeric(char):
            self.backup()
            return self.lex_identifier
        elif char == "(":
            self.paren_depth += 1
            self.emit(LEFT_PAREN)
        elif char == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.error("unexpected right paren")
            self.emit(RIGHT_PAREN)
        elif char <= "\x7f" and char.isprintable():
            self.emit(CHAR)
        else:
            return self.error(f"unrecognized character in action: {_unicode_name(char)}")
        return self.lex_inside_action

    def lex_space(self):
        spaces = 0
        while _is_space(self.peek()):
            self.next()
            spaces += 1
        # A trim-marked right delimiter starts with a space: leave it to lex_right_delim.
        if _has_right_trim_marker(self.text[self.pos - 1:]) and \
                self.text.startswith(RIGHT, self.pos + 1):
            self.backup()
            if spaces == 1:
                return self.lex_right_delim
        self.emit(SPACE)
        return self.lex_inside_action

    def lex_identifier(self):
        while True:
            char = self.next()
            if not (char and _is_alphanumeric(char)):
                self.backup()
                break
        word = self.text[self.start:self.pos]
        if not self.at_terminator():
            return self.error(f"bad character {_unicode_name(self.peek())}")
        if word in KEYWORDS:
            self.emit(KEYWORDS[word])
        elif word in ("true", "false"):
            self.emit(BOOL)
        else:
            self.emit(IDENTIFIER)
        return self.lex_inside_action

    def lex_field(self):
        return self.lex_field_or_variable(FIELD)

    def lex_variable(self):
        if self.at_terminator():
            self.emit(VARIABLE)
            return self.lex_inside_action
        return self.lex_field_or_variable(VARIABLE)

    def lex_field_or_variable(self, item_type: str):
        if self.at_terminator():
            self.emit(VARIABLE if item_type == VARIABLE else DOT)
            return self.lex_inside_action
        while True:
            char = self.next()
            if not (char and _is_alphanumeric(char)):
                self.backup()
                break
        if not self.at_terminator():
            return self.error(f"bad character {_unicode_name(self.peek())}")
        self.emit(item_type)
        return self.lex_inside_action

    def lex_char(self):
        return self.lex_quoted("'", CHAR_CONSTANT, "unterminated character constant")

    def lex_number(self):
        if not self.scan_number():
            return self.error(f"bad number syntax: {_go_quote(self.text[self.start:self.pos])}")
        if self.peek() in ("+", "-") and self.peek() != "":
            # A complex constant: 1+2i, no spaces, ending in i.
            if not self.scan_number() or self.text[self.pos - 1] != "i":
                return self.error(
                    f"bad number syntax: {_go_quote(self.text[self.start:self.pos])}")
            self.emit(COMPLEX)
        else:
            self.emit(NUMBER)
        return self.lex_inside_action

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alphanumeric(self.peek()) and self.peek() != "":
            self.next()
            return False
        return True

    def lex_quote(self):
        return self.lex_quoted('"', STRING, "unterminated quoted string")

    def lex_quoted(self, closing: str, item_type: str, unterminated: str):
        """The rest of a character constant or an interpreted string, up to `closing`: a
        backslash escapes the next character; a newline or the end of the text before it is
        the error `unterminated`."""
        while True:
            char = self.next()
            if char == "\\":
                escaped = self.next()
                if escaped not in ("", "\n"):
                    continue
                return self.error(unterminated)
            if char in ("", "\n"):
                return self.error(unterminated)
            if char == closing:
                break
        self.emit(item_type)
        return self.lex_inside_action

    def lex_raw_quote(self):
        while True:
            char = self.next()
            if char == "":
                return self.error("unterminated raw quoted string")
            if char == "`":
                break
        self.emit(RAW_STRING)
        return self.lex_inside_action


def _unicode_name(char: str) -> str:
    """Go's %#U: U+007D '}'."""
    if char == "":
        return "U+FFFFFFFF"
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if char.isprintable() else code


def _go_quote(text: str) -> str:
    from runtime.gotemplate.goformat import quote
    return quote(text)


def lex(text: str) -> list[Item]:
    """Every item of `text`, ending with EOF or an ERROR item."""
    return Lexer(text).items
