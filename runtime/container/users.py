"""Resolve `-u name|uid[:group|gid]` against the container's own /etc/passwd and /etc/group,
read through the confined root (never the host's NSS)."""

from runtime.container.rootpath import Root
from runtime.errors import InvalidArgument


class UnknownUser(InvalidArgument):
    """A user or group the container's files do not have: the program cannot be run as it,
    status 126 as in Docker (the image is there, the process cannot be invoked)."""

    status = 126


class User:
    __slots__ = ("uid", "gid", "additional_gids", "home")

    def __init__(self, uid: int, gid: int, additional_gids=(), home: str = "/"):
        self.uid, self.gid = uid, gid
        self.additional_gids = list(additional_gids)
        self.home = home


def _entries(data: bytes | None) -> list[list[str]]:
    if not data:
        return []
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _number(text: str) -> int | None:
    if text.isdigit():
        value = int(text)
        if value < 2 ** 32 - 1:
            return value
    return None


def resolve(root: Root, spec: str | None) -> User:
    spec = (spec or "").strip()
    passwd = [r for r in _entries(root.read_file("/etc/passwd")) if len(r) >= 7]
    groups = [r for r in _entries(root.read_file("/etc/group")) if len(r) >= 3]
    user_part, _, group_part = spec.partition(":")
    user_part = user_part or "0"

    uid = _number(user_part)
    entry = None
    for row in passwd:
        if (uid is None and row[0] == user_part) or (uid is not None and _number(row[2]) == uid):
            entry = row
            break
    if entry is None and uid is None:
        raise UnknownUser(
            f"unable to find user {user_part}: no matching entries in passwd file")
    if entry is not None:
        uid = _number(entry[2])
        gid = _number(entry[3]) or 0
        home = entry[5] or "/"
        name = entry[0]
    else:
        gid, home, name = 0, "/", None

    if group_part:
        wanted = _number(group_part)
        if wanted is None:
            for row in groups:
                if row[0] == group_part:
                    wanted = _number(row[2])
                    break
            if wanted is None:
                raise UnknownUser(
                    f"unable to find group {group_part}: no matching entries in group file")
        gid = wanted

    additional = [gid]
    if name is not None:
        for row in groups:
            members = row[3].split(",") if len(row) > 3 else []
            number = _number(row[2])
            if name in members and number is not None:
                additional.append(number)
    return User(uid=uid, gid=gid, additional_gids=sorted(set(additional)), home=home)
