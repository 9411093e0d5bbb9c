"""The error a Compose file or project raises: one line that says where (file and line) and
what, as every engine error does."""

from runtime.errors import InvalidArgument


class ComposeError(InvalidArgument):
    """A Compose file, or a project made of them, that Moorage cannot run as written."""
