"""Where a mount may go in a container: an absolute path other than `/`, cleaned as Go's
path.Clean cleans it; and how a path or value is shown in a one-line error."""

import posixpath

from runtime.volume import names


def clean_path(path: str) -> str:
    """Go's path.Clean for absolute paths (`//a/./b/` -> `/a/b`)."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def printable(text: str) -> str:
    """`text` with control characters escaped, for one-line errors."""
    return text if text.isprintable() else names.quoted(text)[1:-1]


def check_destination(target: str) -> str | None:
    """Why `target` cannot be a mount destination, or None."""
    if not target.startswith("/"):
        return f"invalid mount path: '{printable(target)}' mount path must be absolute"
    if clean_path(target) == "/":
        return "invalid specification: destination can't be '/'"
    if "\0" in target:
        return "invalid mount path: it contains a NUL byte"
    return None
