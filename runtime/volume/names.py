"""Volume names: Docker's local driver rule, and the 64-hex names of anonymous volumes.

A name is one path component under `<root>/volumes/`, so the rule is also what keeps a name
from reaching anywhere else: no `/`, never `.` or `..` (the first character is alphanumeric).
"""

import json
import os
import re

from runtime.errors import InvalidArgument

ALLOWED = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
MAX_LENGTH = 255  # one file name

# The label Docker 23 and later put on the volumes it makes for a container (anonymous
# volumes: `-v /path`, `--mount type=volume` without a source, an image's VOLUME); `volume
# prune` removes only these unless asked for all.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


def validate(name) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a volume name is required")
    if len(name) == 1:
        raise InvalidArgument("volume name is too short, names should be at least two "
                              "alphanumeric characters")
    if len(name) > MAX_LENGTH:
        raise InvalidArgument(f"volume name is too long (at most {MAX_LENGTH} characters)")
    if not VALID.match(name):
        raise InvalidArgument(f'{quoted(name)} includes invalid characters for a local '
                              f'volume name, only "{ALLOWED}" are allowed. If you intended to '
                              'pass a host directory, use absolute path')
    return name


def quoted(text: str) -> str:
    """`text` in double quotes with control characters escaped (Go's %q), so that an error
    about it stays on one line."""
    return json.dumps(text, ensure_ascii=False)


def anonymous() -> str:
    """A fresh name for an anonymous volume: 64 hex digits, as Docker's."""
    return os.urandom(32).hex()
