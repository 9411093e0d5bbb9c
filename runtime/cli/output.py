"""How `moor` prints: Docker's tables, its `--format` templates, and the engine for a command.

Templates are Go's text/template (`runtime.gotemplate`). Two ways in, as in Docker:

- a listing (`ps`, `images`, `history`, `network ls`, `stats`...): `print_rows(format,
  rows, row_class)`. `format` is empty or `table` (the command's table), `table TEMPLATE`
  (the template's columns under Docker's column titles, aligned like Docker's tabwriter),
  `json` (one JSON object per line), `raw`, or a template printed once per row; `\\t` and
  `\\n` in it stand for a tab and a newline. The rows are the command's formatter contexts
  (`runtime.cli.rows`). An error in the template fails the command (status 1) before
  anything is printed.
  A new listing (volumes, events...) defines its row class in `runtime.cli.rows`: methods
  marked `@go_method` for the fields, `HEADER` for the column titles, `DEFAULT` for its table.
- a document (`inspect`, `network inspect`): `print_documents(format, documents)` runs the
  template over each document as it is (no `\\t` replacement, as Docker); a template that
  does not parse is status 64, one that fails on a document is reported for that document.
  `render_template(format, value)` is the same for the one document of `info` or `version`.
  `runtime.gotemplate.render(text, value)` is the engine itself, for any other use.

In a document, objects are Go structs (an unknown field is an error: `map has no entry for
key "Foo"`, what `docker inspect` says) except those under the keys of `MAP_KEYS` (labels,
ports, networks, options...), which are maps (a missing key is `<no value>`; `index` of a
missing key in a map of strings is ""). A JSON null is a nil slice (`[]`) under the keys of
`LIST_KEYS` and in the port maps, a nil map (`map[]`) under `MAP_KEYS`, and `<nil>`
elsewhere.
"""

import os
import sys

from runtime.errors import MoorError

# Keys whose objects are Go maps in Docker's documents; (parent, key) pairs for names that
# are structs elsewhere.
MAP_KEYS = frozenset({"Labels", "ExposedPorts", "Volumes", "Ports", "Networks", "PortBindings",
                      "Options", "Data", "Sysctls", "Tmpfs", "StorageOpt", "DriverOpts",
                      "Containers", "Annotations", "Runtimes"})
MAP_PAIRS = frozenset({("LogConfig", "Config")})
# Keys whose values are Go slices in Docker's documents (a null prints `[]`).
LIST_KEYS = frozenset({"Args", "Cmd", "Entrypoint", "Env", "Binds", "Links", "Dns", "DnsOptions",
                       "DnsSearch", "ExtraHosts", "CapAdd", "CapDrop", "Mounts", "Aliases",
                       "DNSNames", "RepoTags", "RepoDigests", "Layers", "OnBuild", "Shell",
                       "SecurityOpt", "Devices", "GroupAdd", "VolumesFrom", "Test",
                       "Components"})
LIST_PAIRS = frozenset({("IPAM", "Config")})
# Maps whose values are slices (a port with no bindings prints `[]`).
MAPS_OF_LISTS = frozenset({"Ports", "PortBindings"})


_served_engines = None


def serve_engines(source) -> None:
    """In a command run by the engine service (`runtime/service/commands.py`): engines come
    from `source.engine(root)`, whose container listing is the service's view."""
    global _served_engines
    _served_engines = source


def engine_for(args):
    if _served_engines is not None:
        return _served_engines.engine(getattr(args, "root", None))
    from runtime.api import Engine
    return Engine(getattr(args, "root", None))


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def stdout_gone() -> None:
    """The reader of standard output went away (`moor ... | head`): what is still to come,
    and Python's own flush at exit, go to /dev/null, so nothing complains about it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def write_while_read(text: str) -> None:
    """`write`, for output that must not end the work it reports on (a build's): once the
    reader has gone, the rest is dropped."""
    try:
        write(text)
    except BrokenPipeError:
        stdout_gone()


def confirm(question: str, force: bool) -> bool:
    """Ask on a terminal; without one, only --force goes ahead (as Docker's prune)."""
    if force:
        return True
    if not sys.stdin.isatty():
        from runtime.errors import InvalidArgument
        raise InvalidArgument("refusing to prune without --force when not on a terminal")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def short_id(identifier: str) -> str:
    if identifier.startswith("sha256:"):
        identifier = identifier[7:]
    return identifier[:12]


def print_table(headers: list[str], rows: list[list[str]], minwidth: int = 10,
                padding: int = 3) -> None:
    """Columns aligned as Docker's tabwriter (minimum width 10, three spaces between)."""
    from runtime.cli.tabwriter import align
    lines = ["\t".join(str(cell) for cell in row) for row in [headers] + rows]
    write(align("".join(line + "\n" for line in lines), minwidth, padding))


class TemplateFailed(MoorError):
    """A --format template that does not parse or fails: Docker's words and statuses."""


def _parse(text: str, status: int, prefix: str = "template parsing error: ", name: str = ""):
    from runtime.gotemplate import Template, TemplateError
    try:
        return Template(text, name=name)
    except TemplateError as error:
        raise TemplateFailed(prefix + str(error), status=status) from None


def listing_template(format_text: str | None, row_class):
    """The template a listing runs for its rows and whether it is a table, from the
    user's --format as Docker reads it; TemplateFailed when it does not parse."""
    if not format_text or format_text == "table":
        format_text = row_class.DEFAULT
    elif format_text == "raw" and getattr(row_class, "RAW", None):
        format_text = row_class.RAW
    elif format_text == "json":
        format_text = "{{json .}}"
    is_table = format_text.startswith("table")
    if is_table:
        format_text = format_text[len("table"):]
    format_text = format_text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return _parse(format_text, status=1), is_table


def render_rows(format_text: str | None, rows: list, row_class) -> str:
    """The text a listing prints for its rows (Docker's formatter.Context.Write)."""
    from runtime.gotemplate import TemplateError
    from runtime.gotemplate.functions import HEADER_FUNCTIONS
    template, is_table = listing_template(format_text, row_class)
    body = _plain_rows(template.text, rows)
    if body is None:
        body = []
        for row in rows:
            try:
                body.append(template.execute(row) + "\n")
            except TemplateError as error:
                raise TemplateFailed(f"template parsing error: {error}", status=1) from None
    if not is_table:
        return "".join(body)
    try:
        header = template.with_functions(HEADER_FUNCTIONS).execute(row_class.HEADER)
    except TemplateError as error:
        header = error.partial      # Docker prints the header as far as it got
    from runtime.cli.tabwriter import align
    return align(header + "\n" + "".join(body))


_PLAIN_FIELD = None


def _plain_rows(text: str, rows: list) -> list[str] | None:
    """The rows' lines for a template of literal text and `{{.Field}}`s alone, each a method
    of the row without arguments that gives a string (every listing's own table: `ps` of
    200 containers runs it 1,400 times), by calling the methods: what running the template
    prints, for a fraction of the time. None for any other template or value (the template
    then runs)."""
    global _PLAIN_FIELD
    if _PLAIN_FIELD is None:
        import re
        _PLAIN_FIELD = re.compile(r"{{\.([A-Za-z_][A-Za-z0-9_]*)}}")
    parts = _PLAIN_FIELD.split(text)
    literals, names = parts[0::2], parts[1::2]
    if any("{{" in literal or "}}" in literal for literal in literals):
        return None
    from runtime.gotemplate.values import method_of
    lines = []
    for row in rows:
        line = [literals[0]]
        for name, literal in zip(names, literals[1:], strict=True):
            method = method_of(row, name)
            if method is None or method.go_params:
                return None
            try:
                value = method(row)
            except Exception:       # the template says how it fails
                return None
            if type(value) is not str:
                return None
            line.append(value)
            line.append(literal)
        line.append("\n")
        lines.append("".join(line))
    return lines


def print_rows(format_text: str | None, rows: list, row_class) -> None:
    write(render_rows(format_text, rows, row_class))


def fields_used(format_text: str, probe) -> set[str]:
    """The fields of its rows a listing's template reads, as Docker's `ps` finds out whether
    to compute sizes: the user's text is parsed as it is and run once over `probe`, a row
    that records in `fields_used` what it is asked for. TemplateFailed (status 1) with
    Docker's words when the template does not parse or fails."""
    from runtime.gotemplate import TemplateError
    template = _parse(format_text, status=1, prefix="failed to parse template: ")
    try:
        template.execute(probe)
    except TemplateError as error:
        raise TemplateFailed(f"failed to execute template: {error}") from None
    return probe.fields_used


def go_document(value, key: str | None = None, parent: str | None = None,
                type_name: str | None = None):
    """A JSON document as the Go value Docker's template sees (see the module's rules)."""
    from runtime.gotemplate import NIL_MAP, NIL_POINTER, NIL_SLICE, Struct
    if isinstance(value, dict):
        if key in MAP_KEYS or (parent, key) in MAP_PAIRS:
            if key in MAPS_OF_LISTS:
                return {name: NIL_SLICE if item is None else go_document(item)
                        for name, item in value.items()}
            return {name: go_document(item) for name, item in value.items()}
        return Struct({name: go_document(item, name, key) for name, item in value.items()},
                      type_name)
    if isinstance(value, list):
        return [go_document(item) for item in value]
    if value is None and key is not None:
        if key in LIST_KEYS or (parent, key) in LIST_PAIRS:
            return NIL_SLICE
        if key in MAP_KEYS or (parent, key) in MAP_PAIRS:
            return NIL_MAP
        return NIL_POINTER
    return value


def render_template(format_text: str, value, name: str = "") -> tuple[str, MoorError | None]:
    """One document through a template, as `info` and `version` print it: the text (as far
    as it got) and the error when it failed. TemplateFailed (status 64) when the template
    does not parse."""
    from runtime.gotemplate import TemplateError
    template = _parse(format_text, status=64, name=name)
    try:
        return template.execute(value), None
    except TemplateError as error:
        return error.partial, TemplateFailed(str(error), status=1)


def render_documents(format_text: str, documents: list, prefix: str = "template parsing error: "
                     ) -> tuple[str, list[str]]:
    """What `inspect -f` prints for each document, as Docker's TemplateInspector: the
    output (a line per document the template ran on; an empty line when none did) and the
    errors of the documents it failed on. `json` prints the documents as one JSON array.
    TemplateFailed (status 64) when the template does not parse."""
    import json

    from runtime.gotemplate import TemplateError
    if format_text == "json":
        return json.dumps(documents, separators=(",", ":")) + "\n", []
    template = _parse(format_text, status=64)
    out, errors = [], []
    for document in documents:
        try:
            out.append(template.execute(go_document(document)) + "\n")
        except TemplateError as error:
            errors.append(prefix + str(error))
    return "".join(out) or "\n", errors


def print_documents(format_text: str, documents: list) -> bool:
    """Print `render_documents`, its errors on stderr; False when there were errors."""
    text, errors = render_documents(format_text, documents)
    write(text)
    for error in errors:
        sys.stderr.write(f"Error: {error}\n")
    return not errors
