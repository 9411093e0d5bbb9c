"""`moor image bootstrap debian`: a Debian image made with mmdebstrap, with no registry.

Where the packages come from:
- by default, the host's own apt sources (deb822 `sources.list.d/*.sources`, one-line
  `sources.list` and `sources.list.d/*.list`): the entries of the host's release (suites named
  `<codename>` or `<codename>-*`, such as `bookworm-updates` and `bookworm-security`), with the
  suite asked for in place of the host's, so an internal mirror keeps serving the image. The
  host's `Acquire::Check-Valid-Until` and `Acquire::Check-Date` come along (a frozen snapshot
  mirror needs them). A host that is not Debian has no such entries: mmdebstrap's defaults
  (deb.debian.org) are used;
- or a `mirror` URL (`deb URL SUITE main`, checked with `keyring` when given) and/or
  `sources` lines (one-line sources.list entries, used as written).
The image keeps those sources (`/etc/apt/sources.list.d/debian.sources` and `debian.list`),
with every keyring they name (`Signed-By`, `[signed-by=...]`) copied in, so `apt-get update`
works inside it against the same mirror. Keyrings outside /usr/share/keyrings and /etc/apt go
to /etc/apt/keyrings/ in the image.

How: mmdebstrap (variant minbase, Docker's debian images' set, by default) runs as root in a
mount namespace of its own (whatever it mounts goes away with it, however it ends; it gets
SIGTERM when its caller dies), with its working directory inside a locked staging directory of
the engine's tmp/, and writes the root file system as a tar on a pipe that the engine's safe
layer unpacker reads, as `moor import` does. The image is small as Docker's slim images are:
no documentation but the copyright files, no manual pages, locales or apt lists, and Docker's
apt settings (no translations, gzip'd indexes, no package caches, downloaded packages deleted
once installed, dpkg without fsync). Its config: PATH, `bash`, OCI labels, and the suite,
variant, sources and installed packages in its history. With SOURCE_DATE_EPOCH set, the same
mirror content makes the same image ID (mmdebstrap clamps times; `created` is that time).
"""

import dataclasses
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import threading
import time

from runtime.errors import InvalidArgument, MoorError, NotFound

DEFAULT_VARIANT = "minbase"
# mmdebstrap's variants that have apt (so the image can install more).
VARIANTS = ("apt", "minbase", "required", "buildd", "important", "standard")
# Suites without -updates or -security companions.
ROLLING_SUITES = ("sid", "unstable", "experimental", "rc-buggy")
OS_RELEASE = "/etc/os-release"
APT_DIRECTORY = "/etc/apt"
IMAGE_SOURCES = "/etc/apt/sources.list.d/debian.sources"
IMAGE_LIST = "/etc/apt/sources.list.d/debian.list"
IMAGE_KEYRINGS = "/etc/apt/keyrings"
# Keyrings found here on the host keep their path in the image (where packages put them).
STANDARD_KEYRING_DIRS = ("/usr/share/keyrings/", "/etc/apt/")
HOST_APT_OPTIONS = ("Acquire::Check-Valid-Until", "Acquire::Check-Date")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# dpkg without fsync, as in Docker's debian images (a crash loses the whole image anyway).
DPKG_OPTIONS = ("force-unsafe-io",)
# Docker's slim images: no documentation but the copyright files, no manual pages or
# translations. The bootstrap removes them afterwards and leaves the dpkg settings that keep
# later installs from adding them (dpkg's path-exclude during the bootstrap would filter every
# essential package through mmdebstrap's tar filter, which takes longer).
SLIM_EXCLUDE = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*",
                "/usr/share/groff/*", "/usr/share/lintian/*", "/usr/share/linda/*",
                "/usr/share/locale/*")
SLIM_INCLUDE = ("/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias")
IMAGE_DPKG_CONF = "/etc/dpkg/dpkg.cfg.d/90container-image"
# merged /usr as debootstrap (and so Docker's debian images) makes it: the directory links and
# the usr-is-merged package, not the usrmerge package with perl behind it.
MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"
# Docker's debian images' apt settings (their /etc/apt/apt.conf.d/docker-*), for apt in the
# image only (mmdebstrap itself needs the packages it downloads kept).
IMAGE_APT_CONF = "/etc/apt/apt.conf.d/90container-image"
IMAGE_APT_OPTIONS = (
    'Acquire::Languages "none"',
    'Acquire::GzipIndexes "true"',
    'Dir::Cache::pkgcache ""',
    'Dir::Cache::srcpkgcache ""',
    'APT::Keep-Downloaded-Packages "false"',
    'APT::AutoRemove::SuggestsImportant "false"',
)

_SUITE = re.compile(r"^[a-z0-9][a-z0-9.+_-]*$")
# A package name, optionally =version or /release (apt's own syntax, nothing that looks like
# an option or a pattern).
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?:[=/][A-Za-z0-9.+~:_-]+)?$")
_ONE_LINE = re.compile(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(?:\s+(.*))?$")


class BootstrapFailed(MoorError):
    """mmdebstrap could not make the root file system (the reason distilled to one line)."""


# -- apt sources --------------------------------------------------------------------------------

def image_keyring(path: str) -> str:
    """Where a keyring of the host goes in the image."""
    if path.startswith(STANDARD_KEYRING_DIRS):
        return path
    return f"{IMAGE_KEYRINGS}/{os.path.basename(path)}"


def _keyring_paths(value: str) -> list[str]:
    """The files a Signed-By value names (none for an inline key or fingerprints)."""
    if "\n" in value or "BEGIN PGP" in value:
        return []
    return [word for word in re.split(r"[\s,]+", value.strip()) if word.startswith("/")]


def _rename_keyrings(value: str, renames: dict[str, str]) -> str:
    if not _keyring_paths(value):
        return value
    return re.sub(r"/[^\s,]+", lambda match: renames.get(match.group(0), match.group(0)),
                  value)


@dataclasses.dataclass
class Stanza:
    """A deb822 entry: its fields in order, with their names as written."""

    fields: list[list[str]]

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key.lower() == name.lower():
                return value
        return default

    def set(self, name: str, value: str) -> None:
        for field in self.fields:
            if field[0].lower() == name.lower():
                field[1] = value
                return
        self.fields.append([name, value])

    def suites(self) -> list[str]:
        return self.get("Suites").split()

    def with_suites(self, suites: list[str]) -> "Stanza":
        copy = Stanza([list(field) for field in self.fields])
        copy.set("Suites", " ".join(suites))
        return copy

    def uris(self) -> list[str]:
        return self.get("URIs").split()

    def keyrings(self) -> list[str]:
        return _keyring_paths(self.get("Signed-By"))

    def render(self, renames: dict[str, str]) -> str:
        lines = []
        for key, value in self.fields:
            if key.lower() == "signed-by":
                value = _rename_keyrings(value, renames)
            first, *rest = value.split("\n")
            lines.append(f"{key}: {first}".rstrip())
            lines += [" " + line.strip() if line.strip() else " ." for line in rest]
        return "\n".join(lines) + "\n"


@dataclasses.dataclass
class OneLine:
    """A one-line entry: `deb [options] URI SUITE [COMPONENT...]`."""

    options: list[str]
    uri: str
    suite: str
    components: list[str]

    @classmethod
    def parse(cls, text: str) -> "OneLine | None":
        """The entry of a `deb` line; None for a comment, a blank or a `deb-src` line."""
        text = text.split("#", 1)[0].strip()
        match = _ONE_LINE.match(text)
        if not match:
            return None
        kind, options, uri, suite, components = match.groups()
        if kind != "deb":
            return None
        return cls((options or "").split(), uri, suite, (components or "").split())

    def suites(self) -> list[str]:
        return [self.suite]

    def with_suites(self, suites: list[str]) -> "OneLine":
        return OneLine(list(self.options), self.uri, suites[0], list(self.components))

    def uris(self) -> list[str]:
        return [self.uri]

    def keyrings(self) -> list[str]:
        return [path for option in self.options if option.startswith("signed-by=")
                for path in _keyring_paths(option.split("=", 1)[1])]

    def render(self, renames: dict[str, str]) -> str:
        options = [f"signed-by={_rename_keyrings(option.split('=', 1)[1], renames)}"
                   if option.startswith("signed-by=") else option for option in self.options]
        words = ["deb"] + ([f"[{' '.join(options)}]"] if options else []) + \
            [self.uri, self.suite] + self.components
        return " ".join(words) + "\n"


def parse_deb822(text: str) -> list[Stanza]:
    """The enabled entries of a `.sources` file, with only their `deb` type kept."""
    stanzas, fields = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                stanzas.append(Stanza(fields))
            fields = []
        elif line[0] in " \t" and fields:
            fields[-1][1] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            fields.append([key.strip(), value.strip()])
    result = []
    for stanza in stanzas:
        if stanza.get("Enabled", "yes").lower() == "no" or "deb" not in stanza.get(
                "Types").split():
            continue
        stanza.set("Types", "deb")
        result.append(stanza)
    return result


def read_host_sources(apt_directory: str = APT_DIRECTORY) -> list:
    """Every enabled `deb` entry of the host's apt configuration, in apt's order."""
    entries = []
    parts = os.path.join(apt_directory, "sources.list.d")
    names = sorted(os.listdir(parts)) if os.path.isdir(parts) else []
    for path in [os.path.join(apt_directory, "sources.list")] + \
            [os.path.join(parts, name) for name in names]:
        if not os.path.isfile(path) or not path.endswith((".list", ".sources")):
            continue
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
        if path.endswith(".sources"):
            entries += parse_deb822(text)
        else:
            entries += [entry for entry in map(OneLine.parse, text.splitlines()) if entry]
    return entries


def for_suite(entries: list, host_codename: str, suite: str) -> list:
    """The entries of the host's release, moved to `suite` (`bookworm-security` becomes
    `trixie-security`); the others (other suites, third-party repositories) are left out."""
    result = []
    for entry in entries:
        suites = []
        for name in entry.suites():
            if name == host_codename:
                suites.append(suite)
            elif name.startswith(host_codename + "-") and suite not in ROLLING_SUITES:
                suites.append(suite + name[len(host_codename):])
        if suites:
            if isinstance(entry, OneLine):
                result += [entry.with_suites([name]) for name in suites]
            else:
                result.append(entry.with_suites(suites))
    return result


def os_release(path: str = OS_RELEASE) -> dict:
    values = {}
    try:
        with open(path) as file:
            for line in file:
                key, sep, value = line.strip().partition("=")
                if sep:
                    values[key] = value.strip("\"'")
    except FileNotFoundError:
        pass
    return values


def default_suite() -> str:
    """The host's own release when it is Debian, else Debian's stable release."""
    release = os_release()
    if release.get("ID") == "debian" and release.get("VERSION_CODENAME"):
        return release["VERSION_CODENAME"]
    return "stable"


def host_apt_options() -> list[str]:
    """The host's settings among HOST_APT_OPTIONS, as `Name "value"`."""
    apt_config = shutil.which("apt-config")
    if not apt_config:
        return []
    argv = [apt_config, "shell"]
    for number, name in enumerate(HOST_APT_OPTIONS):
        argv += [f"V{number}", name]
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    options = []
    for line in result.stdout.splitlines():   # V0='false'
        key, _, quoted = line.partition("=")
        value = "".join(shlex.split(quoted)) if key[1:].isdigit() else ""
        if value and '"' not in value:
            options.append(f'{HOST_APT_OPTIONS[int(key[1:])]} "{value}"')
    return options


# -- the plan -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    """What a bootstrap makes, checked before anything runs."""

    suite: str
    variant: str
    include: list[str]
    reference: str
    entries: list              # Stanza/OneLine; empty: mmdebstrap's own defaults
    keyrings: dict[str, str]   # host path -> path in the image
    apt_options: list[str]     # from the host, with its sources

    def sources_text(self, renames: dict[str, str]) -> tuple[str, str]:
        """(deb822 text, one-line text) of the entries, keyrings named by `renames`."""
        stanzas = "\n".join(e.render(renames) for e in self.entries if isinstance(e, Stanza))
        lines = "".join(e.render(renames) for e in self.entries if isinstance(e, OneLine))
        return stanzas, lines

    def described_sources(self) -> str:
        if not self.entries:
            return "mmdebstrap's default mirrors"
        uris = []
        for entry in self.entries:
            uris += [uri for uri in entry.uris() if uri not in uris]
        return " ".join(uris)


def plan(suite: str | None = None, include=(), reference: str | None = None,
         variant: str | None = None, mirror: str | None = None, keyring: str | None = None,
         sources=()) -> Plan:
    from runtime.image import reference as references
    suite = suite or default_suite()
    if not _SUITE.match(suite):
        raise InvalidArgument(f"invalid suite {suite!r}: a Debian suite or codename such as "
                              "bookworm, stable or sid")
    variant = variant or DEFAULT_VARIANT
    if variant not in VARIANTS:
        raise InvalidArgument(f"invalid variant {variant!r}: one of {', '.join(VARIANTS)}")
    packages = []
    for item in include:
        for name in re.split(r"[,\s]+", item.strip()):
            if not name:
                continue
            if not _PACKAGE.match(name):
                raise InvalidArgument(f"invalid package name {name!r}")
            if name not in packages:
                packages.append(name)
    reference = str(references.parse(reference or f"debian:{suite}"))

    if keyring and not mirror:
        raise InvalidArgument("--keyring checks the --mirror: give a mirror too")
    entries, apt_options = [], []
    if mirror:
        if not re.match(r"^(https?|file)://\S+$", mirror):
            raise InvalidArgument(f"invalid mirror {mirror!r}: an http://, https:// or "
                                  "file:// URL")
        fields = [["Types", "deb"], ["URIs", mirror], ["Suites", suite],
                  ["Components", "main"]]
        if keyring:
            fields.append(["Signed-By", os.path.abspath(keyring)])
        entries.append(Stanza(fields))
    for line in sources:
        entry = OneLine.parse(line) if "\n" not in line else None
        if entry is None or line.strip().startswith("#"):
            raise InvalidArgument(f"invalid source {line!r}: one sources.list line, "
                                  "`deb [options] URI SUITE [COMPONENT...]`")
        entries.append(entry)
    if not entries:
        release = os_release()
        if release.get("ID") == "debian" and release.get("VERSION_CODENAME"):
            entries = for_suite(read_host_sources(), release["VERSION_CODENAME"], suite)
            apt_options = host_apt_options() if entries else []

    keyrings = {}
    for entry in entries:
        for path in entry.keyrings():
            if not os.path.isfile(path):
                raise NotFound(f"keyring {path} not found (named by the apt sources)")
            target, number = image_keyring(path), 1
            while path not in keyrings and target in keyrings.values():
                number += 1   # two keyrings of one name, from different directories
                stem, extension = os.path.splitext(image_keyring(path))
                target = f"{stem}-{number}{extension}"
            keyrings.setdefault(path, target)
    if any(uri.startswith("https://") for entry in entries for uri in entry.uris()) and \
            "ca-certificates" not in packages:
        packages.append("ca-certificates")   # apt inside the image checks the mirror's TLS
    return Plan(suite, variant, packages, reference, entries, keyrings, apt_options)


# -- running mmdebstrap --------------------------------------------------------------------------

def mmdebstrap_binary() -> str:
    found = shutil.which("mmdebstrap")
    if not found:
        raise NotFound("mmdebstrap not found: install Debian's mmdebstrap package "
                       "(apt-get install mmdebstrap)")
    return found


def _hooks(plan: Plan, image_files: dict[str, str]) -> list[str]:
    """Customize hooks: the engine writes /etc/resolv.conf and /etc/hostname; the image's
    sources replace what mmdebstrap wrote; its apt settings are written; the keyrings the
    sources name are copied in (unless a package put one there)."""
    quote = shlex.quote
    hooks = ['rm -f "$1/etc/resolv.conf" "$1/etc/hostname"', _slimming()]
    if plan.entries:
        hooks.append('rm -f "$1/etc/apt/sources.list" "$1"/etc/apt/sources.list.d/*')
    hooks += [f'install -D -m 0644 {quote(path)} "$1"{quote(target)}'
              for path, target in image_files.items()]
    # apt's caches: with the image's settings (no caches) mmdebstrap's clean-up would miss them
    hooks.append('rm -f "$1"/var/cache/apt/*.bin')
    hooks += [f'[ -e "$1"{quote(target)} ] || install -D -m 0644 {quote(path)} '
              f'"$1"{quote(target)}' for path, target in plan.keyrings.items()]
    return hooks


def _slimming() -> str:
    """A hook removing what SLIM_EXCLUDE names but SLIM_INCLUDE keeps, then the directories
    left empty."""
    quote = shlex.quote
    keep = " ".join(f"! -path {quote('.' + pattern)}" for pattern in SLIM_INCLUDE)
    directories = " ".join(quote("." + os.path.dirname(pattern)) for pattern in SLIM_EXCLUDE)
    return (f'cd "$1" && for d in {directories}; do [ ! -d "$d" ] || '
            f'{{ find "$d" -mindepth 1 ! -type d {keep} -delete && '
            f'find "$d" -mindepth 1 -depth -type d -empty -delete; }} || exit 1; done')


def command(plan: Plan, source_files: list[str], image_files: dict[str, str]) -> list[str]:
    argv = []
    setpriv = shutil.which("setpriv")
    if setpriv:   # mmdebstrap ends (and cleans up) when whoever started it dies
        argv += [setpriv, "--pdeathsig", "TERM"]
    unshare = shutil.which("unshare")
    if not unshare:
        raise NotFound("unshare not found: install util-linux")
    argv += [unshare, "--mount", "--propagation", "private", mmdebstrap_binary(),
             "--mode=root", f"--variant={plan.variant}", "--format=tar"]
    if plan.include:
        argv.append("--include=" + ",".join(plan.include))
    if os.path.isdir(MERGED_USR_HOOKS):
        argv.append(f"--hook-dir={MERGED_USR_HOOKS}")
    argv += [f"--dpkgopt={option}" for option in DPKG_OPTIONS]
    argv += [f"--aptopt={option}" for option in plan.apt_options]
    if plan.include:
        # A package apt cannot find fails here, before anything is downloaded or unpacked
        # (the indexes are fetched once more, which the mirror answers with "not modified").
        apt = 'APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" apt-get'
        packages = " ".join(shlex.quote(name) for name in plan.include)
        argv.append(f"--setup-hook={apt} update --quiet >&2 && {apt} --simulate --quiet "
                    f"--no-install-recommends install {packages} >/dev/null")
    argv += [f"--customize-hook={hook}" for hook in _hooks(plan, image_files)]
    return argv + ["--", plan.suite, "-", *source_files]


_WRAPPERS = re.compile(r"^(setup failed|command failed|mmdebstrap failed|run_chroot failed"
                       r"|apt-get .*failed|Sub-process .* returned an error code"
                       r"|.*failed to run$)")


def distill(lines: list[str], suite: str) -> str:
    """mmdebstrap's output when it failed, as one line."""
    errors = [line[3:].strip() for line in lines if line.startswith("E: ")]
    errors = [error for error in errors if not _WRAPPERS.match(error)]
    for error in errors:
        match = re.search(r"Unable to locate package (\S+)", error)
        if match:
            return f"unknown package {match.group(1)}: it is not in {suite} of the apt sources"
        match = re.search(r"Package '?([^' ]+)'? has no installation candidate", error)
        if match:
            return f"unknown package {match.group(1)}: it has no installation candidate in " \
                   f"{suite}"
        match = re.search(r"The repository '(\S+) (\S+) Release' (?:does not have|no longer "
                          r"has) a Release file", error)
        if match:
            return f"unknown suite {match.group(2)}: {match.group(1)} has no Release file for it"
    if errors:
        return errors[0]
    failures = [line for line in lines if line.startswith(("W: Failed to fetch", "Err:"))]
    if failures:
        return failures[-1].strip()
    meaningful = [line.strip() for line in lines if line.strip()]
    return meaningful[-1] if meaningful else "mmdebstrap failed"


class _Output:
    """mmdebstrap's stderr, read on a thread: kept for the error, passed on as progress."""

    def __init__(self, stream, progress):
        self.lines: list[str] = []
        self._stream, self._progress = stream, progress
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self._stream:
            line = raw.decode("utf-8", "replace").rstrip("\n").split("\r")[-1]
            if len(self.lines) < 5000:
                self.lines.append(line)
            # (apt's warning that it downloads as root, not as _apt: it cannot reach the
            # engine's private tmp/, and that is as meant)
            # nor the hooks' scripts (the engine's own)
            if self._progress and line.startswith(("I: ", "W: ", "E: ")) and \
                    "unsandboxed as root" not in line and \
                    not line.startswith("I: running --"):
                self._progress(line + "\n")

    def join(self):
        self._thread.join()


def make_rootfs(plan: Plan, staging: str, target: str, progress=None) -> None:
    """Run mmdebstrap and unpack its tar into the empty directory `target`."""
    from runtime.image.layer_unpack import unpack_layer
    if os.geteuid() != 0:
        raise MoorError("moor image bootstrap debian needs root (mmdebstrap's root mode)")
    renames = dict(plan.keyrings)
    host_deb822, host_lines = plan.sources_text({})
    image_deb822, image_lines = plan.sources_text(renames)
    source_files, image_files = [], {}
    apt_conf = os.path.join(staging, "apt.conf")
    with open(apt_conf, "w") as file:
        file.write("".join(f"{option};\n" for option in IMAGE_APT_OPTIONS))
    image_files[apt_conf] = IMAGE_APT_CONF
    dpkg_conf = os.path.join(staging, "dpkg.cfg")
    with open(dpkg_conf, "w") as file:
        file.write("".join(f"path-exclude={pattern}\n" for pattern in SLIM_EXCLUDE) +
                   "".join(f"path-include={pattern}\n" for pattern in SLIM_INCLUDE))
    image_files[dpkg_conf] = IMAGE_DPKG_CONF
    for name, host_text, image_text, inside in (
            ("debian.sources", host_deb822, image_deb822, IMAGE_SOURCES),
            ("debian.list", host_lines, image_lines, IMAGE_LIST)):
        if not host_text:
            continue
        for directory, text in (("host", host_text), ("image", image_text)):
            os.makedirs(os.path.join(staging, directory), exist_ok=True)
            with open(os.path.join(staging, directory, name), "w") as file:
                file.write(text)
        source_files.append(os.path.join(staging, "host", name))
        image_files[os.path.join(staging, "image", name)] = inside
    scratch = os.path.join(staging, "mmdebstrap")
    os.mkdir(scratch, 0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "TMPDIR": scratch,
           "LC_ALL": "C.UTF-8", "HOME": scratch}
    for name in ("SOURCE_DATE_EPOCH", "http_proxy", "https_proxy", "no_proxy"):
        if name in os.environ:
            env[name] = os.environ[name]
    process = subprocess.Popen(command(plan, source_files, image_files), env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=scratch)
    output = _Output(process.stderr, progress)
    unpack_error = None
    try:
        try:
            unpack_layer(process.stdout, target)
        except MoorError as error:
            unpack_error = error
        process.stdout.close()
        code = process.wait()
    finally:
        if process.poll() is None:   # interrupted: mmdebstrap cleans up on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.join()
    # An archive the unpacker refused ends mmdebstrap with SIGPIPE: the unpacker's reason.
    if code != 0 and not (unpack_error and any("signal PIPE" in line
                                               for line in output.lines)):
        raise BootstrapFailed(f"cannot bootstrap {plan.reference}: "
                              f"{distill(output.lines, plan.suite)}")
    if unpack_error is not None:
        raise BootstrapFailed(f"cannot bootstrap {plan.reference}: mmdebstrap's archive: "
                              f"{unpack_error.message}")


# -- the image -----------------------------------------------------------------------------------

def installed_packages(rootfs: str) -> list[str]:
    """`name=version` of every installed package, from dpkg's status file."""
    packages, name, version, installed = [], None, None, False
    try:
        with open(os.path.join(rootfs, "var/lib/dpkg/status"), encoding="utf-8",
                  errors="replace") as file:
            lines = file.read().splitlines() + [""]
    except FileNotFoundError:
        return []
    for line in lines:
        if not line.strip():
            if name and installed:
                packages.append(f"{name}={version}")
            name, version, installed = None, None, False
        elif line.startswith("Package:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Version:"):
            version = line.split(":", 1)[1].strip()
        elif line.startswith("Status:"):
            installed = line.split()[-1] == "installed"
    return sorted(packages)


def debian_version(rootfs: str) -> str:
    try:
        with open(os.path.join(rootfs, "etc/debian_version")) as file:
            return file.read().strip()
    except OSError:
        return ""


def image_config(plan: Plan, diff_id: str, version: str, packages: list[str],
                 created: str) -> bytes:
    from runtime.image.bootstrap import ARCHITECTURES
    mmdebstrap = subprocess.run([mmdebstrap_binary(), "--version"], capture_output=True,
                                text=True).stdout.strip() or "mmdebstrap"
    created_by = f"moor image bootstrap debian --suite {plan.suite} --variant {plan.variant}"
    if plan.include:
        created_by += " --include " + ",".join(plan.include)
    labels = {
        "org.opencontainers.image.title": "debian",
        "org.opencontainers.image.description":
            f"Debian {plan.suite} ({plan.variant}) made by {mmdebstrap}",
        "org.opencontainers.image.version": version or plan.suite,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.vendor": "Debian",
        "org.opencontainers.image.url": "https://www.debian.org/",
        "org.opencontainers.image.source": plan.described_sources(),
        "org.opencontainers.image.ref.name": plan.reference,
    }
    config = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": created,
        "author": "moor image bootstrap",
        "config": {"Env": [f"PATH={PATH}"], "Cmd": ["bash"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{
            "created": created,
            "created_by": created_by,
            "comment": f"{mmdebstrap}; Debian {version or '?'} ({plan.suite}) from "
                       f"{plan.described_sources()}; {len(packages)} packages: "
                       + " ".join(packages),
        }],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def creation_time() -> str:
    """SOURCE_DATE_EPOCH when set (reproducible images), else now."""
    from runtime.container.state import rfc3339_ns
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return rfc3339_ns(int(epoch) * 1_000_000_000)
    return rfc3339_ns(time.time_ns())


def bootstrap(engine, plan: Plan, progress=None) -> str:
    """Make the image of `plan` and tag it; returns its ID. Nothing is left on failure."""
    from runtime.image import layers
    mmdebstrap_binary()
    engine.paths.ensure()
    with engine.store.staging_dir("debian-") as staging:
        rootfs = os.path.join(staging, "rootfs")
        os.mkdir(rootfs)
        make_rootfs(plan, staging, rootfs, progress)
        version, packages = debian_version(rootfs), installed_packages(rootfs)
        created = creation_time()
        if progress:
            progress(f"I: storing the image {plan.reference}...\n")
        with engine.store.lock():
            diff_id, _ = layers.add_directory(engine.store, rootfs, parent_chain=None)
            image_id = engine.store.add_image(
                image_config(plan, diff_id, version, packages, created))
            engine.store.tag(image_id, plan.reference)
    return image_id
