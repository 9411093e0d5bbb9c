"""How `moor` prints: Docker's tables, its `--format` templates, and the engine for a command."""

import json
import re
import sys


def engine_for(args):
    from runtime.api import Engine
    return Engine(getattr(args, "root", None))


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def short_id(identifier: str) -> str:
    if identifier.startswith("sha256:"):
        identifier = identifier[7:]
    return identifier[:12]


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell plus three spaces, as Docker's tabwriter does."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(str(cell)))
    lines = []
    for row in [headers] + rows:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("   ".join(cells).rstrip() + "\n")
    write("".join(lines))


_FIELD = re.compile(r"\{\{\s*(json\s+)?\.?([A-Za-z0-9_.]*)\s*\}\}")


def template(text: str, value) -> str:
    """The part of Go's text/template Docker users type: `{{.Field.Sub}}`, `{{json .X}}`,
    `{{.}}`, `\\t` and `\\n`."""
    text = text.replace("\\t", "\t").replace("\\n", "\n")
    if text.strip() == "json":
        return json.dumps(value)

    def lookup(match):
        node = value
        for part in [p for p in match.group(2).split(".") if p]:
            if isinstance(node, dict):
                node = node.get(part, "")
            else:
                node = ""
        if match.group(1):
            return json.dumps(node)
        if isinstance(node, (dict, list)):
            return json.dumps(node) if node else ("map[]" if isinstance(node, dict) else "[]")
        if isinstance(node, bool):
            return "true" if node else "false"
        if node is None:
            return "<no value>"
        return str(node)
    return _FIELD.sub(lookup, text)
