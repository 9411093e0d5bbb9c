"""tmpfs mounts: `--tmpfs /path[:options]` (HostConfig.Tmpfs), the options of a
`--mount type=tmpfs` (size, mode, read-only), and the OCI options of either: Docker's
defaults (noexec, nosuid, nodev, rprivate) with the later of two opposite flags winning, as
moby's MergeTmpfsOptions; anything a tmpfs does not take is refused by name."""

import re

from runtime.errors import InvalidArgument
from runtime.volume.destinations import check_destination, clean_path

PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
DEFAULT_PROPAGATION = "rprivate"


# Mount flags a tmpfs takes, each with the key it shares with its opposite (the later one of
# a pair wins, as moby's MergeTmpfsOptions): ro/rw, exec/noexec...
_FLAG_KEYS = {
    "ro": "ro", "rw": "ro", "suid": "suid", "nosuid": "suid", "dev": "dev", "nodev": "dev",
    "exec": "exec", "noexec": "exec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
    "mand": "mand", "nomand": "mand", "atime": "atime", "noatime": "atime",
    "diratime": "diratime", "nodiratime": "diratime", "relatime": "relatime",
    "norelatime": "relatime", "strictatime": "strictatime", "nostrictatime": "strictatime",
    **dict.fromkeys(PROPAGATIONS + ("unbindable", "runbindable"), "propagation"),
}
_SIZE_VALUE = r"\d+[kmgKMG%]?"
_DATA_VALUES = {"size": _SIZE_VALUE, "nr_blocks": r"\d+[kmgKMG%]?",
                "nr_inodes": r"\d+[kmgKMG]?", "mode": r"[0-7]{1,4}", "uid": r"\d+",
                "gid": r"\d+", "mpol": r"[a-z]+(:[0-9,-]+)?"}
TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev", DEFAULT_PROPAGATION]


def merge_options(options: list[str]) -> list[str]:
    """Options for a tmpfs, later ones winning over earlier ones of the same kind; refuses what
    a tmpfs does not take."""
    seen, merged = set(), []
    for option in reversed([o for o in options if o and o != "defaults"]):
        if option in _FLAG_KEYS:
            key = _FLAG_KEYS[option]
        else:
            name, sep, value = option.partition("=")
            pattern = _DATA_VALUES.get(name)
            if not sep or pattern is None or not re.fullmatch(pattern, value):
                raise InvalidArgument(f"invalid tmpfs option {option!r}")
            key = "=" + name
        if key not in seen:
            seen.add(key)
            merged.insert(0, option)
    return merged


def mount_options(data: str) -> list[str]:
    """The OCI options of a tmpfs: Docker's defaults (noexec, nosuid, nodev, rprivate), then
    what was asked for."""
    return merge_options(TMPFS_DEFAULTS + (data.split(",") if data else []))


def parse(value) -> dict[str, str]:
    """`--tmpfs` values (`/run:size=64m`) or `HostConfig.Tmpfs` -> {destination: options},
    each checked."""
    if not value:
        return {}
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = []
        for text in value:
            if not isinstance(text, str):
                raise InvalidArgument(f"invalid tmpfs: {text!r}")
            path, _, options = text.partition(":")
            items.append((path, options))
    else:
        raise InvalidArgument(f"invalid tmpfs: {value!r}")
    table = {}
    for path, options in items:
        if not isinstance(path, str) or not isinstance(options, str):
            raise InvalidArgument(f"invalid tmpfs: {path!r}")
        problem = check_destination(path)
        if problem:
            raise InvalidArgument(f"invalid tmpfs {path!r}: {problem}")
        merge_options(options.split(","))
        table[clean_path(path)] = options
    return table


def data_of(options: dict, read_only: bool, fail) -> str:
    """moby's ConvertTmpfsOptions: `TmpfsOptions` -> `ro,mode=1777,size=64m`."""
    words = ["ro"] if read_only else []
    mode = options.get("Mode")
    if mode:
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
            fail(f"invalid tmpfs mode: {mode!r}")
        words.append(f"mode={mode:o}")
    size = options.get("SizeBytes")
    if size:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            fail(f"invalid tmpfs size: {size!r}")
        for suffix, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                size, unit = size // divisor, suffix
                break
        else:
            unit = ""
        words.append(f"size={size}{unit}")
    return ",".join(words)
