"""A container's /etc/hosts and /etc/resolv.conf, as Docker writes them, with what `--add-host`,
`--dns`, `--dns-search` and `--dns-option` add (checked here too, with Docker's CLI's rules).

The lifecycle bind-mounts `<container dir>/hosts` and `<container dir>/resolv.conf` into the
container. A bind mount pins the file's inode, so an update must rewrite the same file in
place: `write_in_place` writes the new text over the old and then cuts the file to length,
never leaving it empty for a reader in between.
"""

import ipaddress
import os
import re

from runtime.errors import InvalidArgument

HOST_HOSTS = "/etc/hosts"
HOST_RESOLV_CONF = "/etc/resolv.conf"
SYSTEMD_RESOLVED_STUB = "127.0.0.53"
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
# `--add-host NAME:host-gateway`: the host, as the container's gateway reaches it.
HOST_GATEWAY = "host-gateway"
_DOMAIN = re.compile(r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*"
                     r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$")
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


def hosts_text(own: tuple[str, list[str]] | None, peers: list[tuple[str, list[str]]],
               extra: list[tuple[str, str]] = ()) -> str:
    """Docker's localhost lines, the `--add-host` entries (`extra`: (address, name)), the
    container's own address with its names, then the other containers it can reach by name,
    one `address<TAB>names` line each."""
    text = LOCALHOST_LINES + extra_hosts_text(extra)
    for address, names in ([own] if own else []) + sorted(peers):
        unique = list(dict.fromkeys(name for name in names if name))
        if unique:
            text += f"{address}\t{' '.join(unique)}\n"
    return text


def extra_hosts_text(extra: list[tuple[str, str]]) -> str:
    return "".join(f"{address}\t{name}\n" for address, name in extra)


def parse_extra_host(text) -> str:
    """`--add-host NAME:ADDRESS` (or `NAME=ADDRESS`, the address perhaps in brackets, or
    `host-gateway`) -> `NAME:ADDRESS`, Docker's API form (docker/cli's ValidateExtraHost)."""
    if not isinstance(text, str):
        raise InvalidArgument(f"bad format for add-host: {text!r}")
    name, sep, address = text.partition("=")
    if not sep:
        name, sep, address = text.partition(":")
    if not sep or not name or ":" in name:
        raise InvalidArgument(f"bad format for add-host: {text!r} (NAME:ADDRESS, like "
                              "db:10.0.0.5 or gw:host-gateway)")
    if address != HOST_GATEWAY:
        if len(address) > 2 and address[0] == "[" and address[-1] == "]":
            address = address[1:-1]
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise InvalidArgument(f"invalid IP address in add-host: {address!r}") from None
    return f"{name}:{address}"


def parse_extra_hosts(value) -> list[str]:
    return [parse_extra_host(item) for item in _strings(value, "extra hosts")]


def resolve_extra_hosts(extra_hosts: list[str], gateway) -> list[tuple[str, str]]:
    """HostConfig.ExtraHosts -> (address, name) lines, `host-gateway` as `gateway()`."""
    lines = []
    for entry in extra_hosts or []:
        name, _, address = entry.partition(":")
        if address == HOST_GATEWAY:
            address = gateway()
        lines.append((address, name))
    return lines


def parse_dns(value) -> list[str]:
    servers = _strings(value, "DNS servers")
    for server in servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise InvalidArgument(f"{server} is not an ip address") from None
    return servers


def parse_dns_search(value) -> list[str]:
    """Search domains; `.` alone means none (docker/cli's ValidateDNSSearch)."""
    domains = _strings(value, "DNS search domains")
    for domain in domains:
        if domain == ".":
            continue
        bare = domain[:-1] if domain.endswith(".") else domain
        if len(bare) > 255 or not _DOMAIN.match(bare):
            raise InvalidArgument(f"{domain} is not a valid domain")
    return domains


def parse_dns_options(value) -> list[str]:
    options = _strings(value, "DNS options")
    for option in options:
        if not option or any(c.isspace() for c in option):
            raise InvalidArgument(f"invalid DNS option: {option!r}")
    return options


def _strings(value, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) for item in value):
        raise InvalidArgument(f"invalid {what}: {value!r} (a list of strings)")
    return list(value)


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


def resolv_conf_text(dns: list[str] = (), search: list[str] = (),
                     options: list[str] = ()) -> str:
    """The host's resolv.conf without loopback nameservers (a container's loopback is its
    own); Docker's public fallback when none is left. With `--dns`, `--dns-search` or
    `--dns-option`, Docker's own file: `search`, the nameservers, `options`, each given one
    over the host's (a search of `.` alone is none)."""
    if dns or search or options:
        return _built_resolv_conf(dns, search, options)
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


def _built_resolv_conf(dns, search, options) -> str:
    host = [line.split() for line in _host_resolv_conf().splitlines()]
    if not dns:
        dns = [words[1] for words in host if len(words) > 1 and words[0] == "nameserver"
               and not _is_loopback(words[1])] or list(FALLBACK_NAMESERVERS)
    if not search:
        search = [word for words in host if words and words[0] == "search"
                  for word in words[1:]]
    if not options:
        options = [word for words in host if words and words[0] == "options"
                   for word in words[1:]]
    text = ""
    if search and " ".join(search).strip() != ".":
        text += "search " + " ".join(search) + "\n"
    text += "".join(f"nameserver {server}\n" for server in dns)
    if options:
        text += "options " + " ".join(options) + "\n"
    return text


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


def copy_in_place(source: str, path: str, missing: str = "", append: str = ""):
    """Copy a file's content into `path` in place (`missing` when there is no source), and
    `append` after it."""
    try:
        with open(source) as file:
            text = file.read()
    except FileNotFoundError:
        text = missing
    if append and text and not text.endswith("\n"):
        text += "\n"
    write_in_place(path, text + append)

