"""The difference between two versions of a stack's file, as `diff -u` shows it (Python's
difflib), and as lines a page shows: each with its kind, escaped by the template like any
text."""
import difflib

CONTEXT_LINES = 3


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    """`diff -u old new`: '' when they are the same."""
    return "".join(difflib.unified_diff(
        lines_of(old), lines_of(new), fromfile=old_name, tofile=new_name, n=CONTEXT_LINES))


def lines_of(text: str) -> list[str]:
    lines = (text or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def shown(diff: str) -> list[tuple[str, str]]:
    """(kind, line) for a page: kind is `file`, `hunk`, `added`, `removed` or `same`."""
    result = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        else:
            kind = "same"
        result.append((kind, line))
    return result


def between(previous, version) -> str:
    """The diff of `version`'s file against `previous`'s (None: against nothing)."""
    return unified(previous.compose if previous else "", version.compose,
                   f"version {previous.number}" if previous else "/dev/null",
                   f"version {version.number}")
