"""A container's /etc/hosts and /etc/resolv.conf, as Docker writes them.

The lifecycle bind-mounts `<container dir>/hosts` and `<container dir>/resolv.conf` into the
container. A bind mount pins the file's inode, so an update must rewrite the same file in
place: `write_in_place` writes the new text over the old and then cuts the file to length,
never leaving it empty for a reader in between.
"""

import ipaddress
import os

HOST_HOSTS = "/etc/hosts"
HOST_RESOLV_CONF = "/etc/resolv.conf"
SYSTEMD_RESOLVED_STUB = "127.0.0.53"
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
# Docker's fallback when the host has no nameserver a container can reach.
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")

LOCALHOST_LINES = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def hosts_text(own: tuple[str, list[str]] | None, peers: list[tuple[str, list[str]]]) -> str:
    """Docker's localhost lines, the container's own address with its names, then the other
    containers it can reach by name, one `address<TAB>names` line each."""
    text = LOCALHOST_LINES
    for address, names in ([own] if own else []) + sorted(peers):
        unique = list(dict.fromkeys(name for name in names if name))
        if unique:
            text += f"{address}\t{' '.join(unique)}\n"
    return text


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_resolv_conf() -> str:
    try:
        with open(HOST_RESOLV_CONF) as file:
            text = file.read()
    except FileNotFoundError:
        return ""
    nameservers = [line.split()[1] for line in text.splitlines()
                   if line.startswith("nameserver") and len(line.split()) > 1]
    if nameservers == [SYSTEMD_RESOLVED_STUB] and os.path.exists(SYSTEMD_RESOLV_CONF):
        with open(SYSTEMD_RESOLV_CONF) as file:
            return file.read()
    return text


def resolv_conf_text() -> str:
    """The host's resolv.conf without loopback nameservers (a container's loopback is its
    own); Docker's public fallback when none is left."""
    lines, nameservers = [], 0
    for line in _host_resolv_conf().splitlines():
        words = line.split()
        if words and words[0] == "nameserver":
            if len(words) < 2 or _is_loopback(words[1]):
                continue
            nameservers += 1
        lines.append(line)
    if not nameservers:
        lines += [f"nameserver {address}" for address in FALLBACK_NAMESERVERS]
    return "\n".join(lines).strip("\n") + "\n"


def write_in_place(path: str, text: str):
    """Replace a file's content keeping its inode (see the module's note)."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        written = 0
        while written < len(data):
            written += os.pwrite(fd, data[written:], written)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def copy_in_place(source: str, path: str, missing: str = ""):
    """Copy a file's content into `path` in place (`missing` when there is no source)."""
    try:
        with open(source) as file:
            text = file.read()
    except FileNotFoundError:
        text = missing
    write_in_place(path, text)

