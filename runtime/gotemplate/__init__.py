"""Go's text/template, for the `--format` of `moor` and everything else that prints what a
Docker user's template asks for.

    from runtime.gotemplate import Template, render, TemplateError
    render("{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", {"Labels": {"b": "2"}})
    Template("{{.Name | upper}}").execute(value)      # parse once, run per item

What runs is Go's: the lexer, the grammar and the execution rules of text/template, with
its error messages and positions, its builtins (`and or not len index slice eq ne lt le gt
ge print printf println html js urlquery call`), Docker's functions (`json split join title
lower upper pad truncate`) and Go's printing of values (`fmt`'s %v: `[a b]`, `map[k:v]`,
`<no value>`, `1e+06`). `values` says how Python values stand for Go's (dicts are maps,
`Struct` is a struct, `@go_method`s are methods); `functions` has the functions.

Errors are TemplateError (ParseError or ExecError). Only the standard library is used, and
nothing is imported until a template is used: `moor` imports this package only when a
command is given a template.
"""

from runtime.gotemplate.errors import TemplateError
from runtime.gotemplate.values import NIL_MAP, NIL_POINTER, NIL_SLICE, NO_VALUE, Struct, go_method

__all__ = ["Template", "TemplateError", "render", "Struct", "go_method", "NO_VALUE",
           "NIL_MAP", "NIL_POINTER", "NIL_SLICE"]


class Template:
    """A parsed template: `execute(value)` runs it. `functions` adds to (or replaces) the
    builtins and Docker's functions."""

    def __init__(self, text: str, name: str = "", functions: dict | None = None):
        from runtime.gotemplate.functions import BUILTINS, DOCKER_FUNCTIONS
        from runtime.gotemplate.parser import parse
        self.name = name
        self.text = text
        self.functions = {**BUILTINS, **DOCKER_FUNCTIONS, **(functions or {})}
        self.trees = parse(text, name, self.functions)

    def execute(self, value) -> str:
        """The text the template makes of `value`; ExecError (a TemplateError) when it
        fails, with what was written before in its `partial`."""
        from runtime.gotemplate.execute import execute
        return execute(self, value)

    def with_functions(self, functions: dict) -> "Template":
        """The same parsed template calling other implementations of some functions (as
        Go's Template.Funcs on a parsed template)."""
        other = object.__new__(Template)
        other.name, other.text, other.trees = self.name, self.text, self.trees
        other.functions = {**self.functions, **functions}
        return other


def render(text: str, value, functions: dict | None = None) -> str:
    """Parse `text` and run it over `value`: the one call most callers need."""
    return Template(text, functions=functions).execute(value)
