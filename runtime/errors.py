"""The one error type the engine raises to its callers."""


class MoorError(Exception):
    """A failure to report to the user as one line.

    `status` is the exit status the command line uses: 1 for most errors, 125 when `run` fails
    before the container's program starts, 126/127 when the program cannot be invoked or found.
    """

    status = 1

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFound(MoorError):
    """No such container, image, network or path."""


class Conflict(MoorError):
    """The request clashes with the current state (a name in use, a container running...)."""


class InvalidArgument(MoorError):
    """A flag, reference or option that is not valid."""


class UnsafeArchive(InvalidArgument):
    """An archive that tries to write outside its destination or holds what we refuse."""


def os_error_text(error: OSError) -> str:
    """An operating system error in one line: `no space left on device: /var/lib/...`."""
    text = (error.strerror or str(error)).lower() if error.errno else str(error)
    if error.filename is not None:
        name = error.filename
        text += ": " + (name if isinstance(name, str) else repr(name))
    return text
