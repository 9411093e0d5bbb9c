"""Words of a Dockerfile instruction: splitting with quotes and escapes, and the variable
substitution Docker applies to ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME,
WORKDIR and ARG (never to RUN, CMD or ENTRYPOINT: the shell in the container does that).

`$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alternative}`,
`${NAME+alternative}`, `${NAME:?message}` and `${NAME?message}`, as in moby's shell lexer.
Single quotes take everything literally; double quotes allow substitution; the escape
character (`\\`, or `` ` `` after `# escape=`) makes the next character literal. A variable
that is not set expands to nothing.
"""

from runtime.errors import InvalidArgument

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class SubstitutionError(InvalidArgument):
    """A malformed `${...}` or an unmatched quote."""


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes in the words (moby's
    parseWords): the words are substituted later, one by one."""
    words, word = [], []
    quote = None
    in_word = False
    blank_ok = False
    index = 0
    while index < len(text):
        char = text[index]
        if quote is None:
            if char.isspace():
                if in_word and (word or blank_ok):
                    words.append("".join(word))
                word, in_word, blank_ok = [], False, False
                index += 1
                continue
            in_word = True
            if char in "'\"":
                quote, blank_ok = char, True
            elif char == escape:
                if index + 1 == len(text):
                    break
                word.append(char)
                index += 1
                char = text[index]
            word.append(char)
        else:
            if char == quote:
                quote = None
            elif char == escape and quote != "'":
                if index + 1 == len(text):
                    break
                word.append(char)
                index += 1
                char = text[index]
            word.append(char)
        index += 1
    if in_word and (word or blank_ok):
        words.append("".join(word))
    return words


class _Scanner:
    def __init__(self, text: str, env: dict, escape: str):
        self.text, self.env, self.escape = text, env, escape
        self.position = 0

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def next(self) -> str:
        char = self.peek()
        self.position += 1
        return char

    def words(self, stop: str = "", split: bool = False) -> list[str]:
        """Process until `stop` (consumed) or the end. With `split`, unquoted whitespace
        separates words."""
        words, current, started = [], [], False
        while True:
            char = self.peek()
            if char == "":
                if stop:
                    raise SubstitutionError(f"missing '{stop}' in {self.text!r}")
                break
            if stop and char == stop:
                self.next()
                break
            if split and char.isspace():
                self.next()
                if started:
                    words.append("".join(current))
                current, started = [], False
                continue
            started = True
            if char == "'":
                self.next()
                current.append(self._single_quoted())
            elif char == '"':
                self.next()
                current.append(self._double_quoted())
            elif char == "$":
                current.append(self._dollar())
            elif char == self.escape:
                self.next()
                if self.peek():
                    current.append(self.next())
            else:
                current.append(self.next())
        if started or not split:
            words.append("".join(current))
        return words

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.position)
        if end < 0:
            raise SubstitutionError("unexpected end of statement while looking for matching "
                                    f"single-quote in {self.text!r}")
        value = self.text[self.position:end]
        self.position = end + 1
        return value

    def _double_quoted(self) -> str:
        result = []
        while True:
            char = self.peek()
            if char == "":
                raise SubstitutionError("unexpected end of statement while looking for "
                                        f"matching double-quote in {self.text!r}")
            if char == '"':
                self.next()
                return "".join(result)
            if char == "$":
                result.append(self._dollar())
                continue
            self.next()
            if char == self.escape and self.peek() in ('"', "$", self.escape):
                char = self.next()
            elif char == self.escape and self.peek() == "":
                continue
            result.append(char)

    def _name(self) -> str:
        start = self.position
        while self.peek() and self.peek() in NAME_CHARS:
            self.next()
        return self.text[start:self.position]

    def _dollar(self) -> str:
        self.next()  # the "$"
        if self.peek() != "{":
            name = self._name()
            return self.env.get(name, "") if name else "$"
        self.next()  # the "{"
        name = self._name()
        if not name:
            raise SubstitutionError(f"bad substitution in {self.text!r}: a variable name "
                                    "must follow '${'")
        char = self.next()
        if char == "}":
            return self.env.get(name, "")
        if char == "":
            raise SubstitutionError(f"missing '}}' in {self.text!r}")
        colon = char == ":"
        if colon:
            char = self.next()
        if char not in ("-", "+", "?"):
            raise SubstitutionError(f"unsupported modifier ({':' if colon else ''}{char}) "
                                    f"in substitution {self.text!r}")
        word = self.words(stop="}")[0]
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if char == "-":
            return value if is_set else word
        if char == "+":
            return word if is_set else ""
        if not is_set:
            raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
        return value


def substitute(text: str, env: dict, escape: str = "\\") -> str:
    """`text` as one word: quotes removed, variables replaced, whitespace kept."""
    return _Scanner(text, env, escape).words()[0]


def substitute_words(text: str, env: dict, escape: str = "\\") -> list[str]:
    """`text` split on unquoted whitespace, each word substituted."""
    return _Scanner(text, env, escape).words(split=True)
