"""Where `moor image bootstrap debian` takes its packages from (the host's apt sources, moved
to the suite asked for, or --mirror/--source), which keyrings go into the image, the checks
made before mmdebstrap runs, and how its failures read. No root needed: nothing runs."""

import pytest

from runtime.errors import InvalidArgument, NotFound
from runtime.image import debian

HOST_SOURCES = """\
Types: deb deb-src
# a comment inside the stanza
URIs: http://mirror.internal/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.internal/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
Signed-By: /etc/apt/keyrings/vendor.gpg

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
"""
HOST_LIST = """\
# classic sources.list
deb [arch=amd64 signed-by=/opt/keys/internal.gpg] http://apt.internal/debian bookworm-backports main
deb-src http://apt.internal/debian bookworm main
deb http://other.example/ubuntu jammy main
"""


@pytest.fixture
def host_apt(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(HOST_SOURCES)
    (tmp_path / "sources.list.d" / "old.list.disabled").write_text("deb http://x/ bookworm a\n")
    (tmp_path / "sources.list").write_text(HOST_LIST)
    return str(tmp_path)


def test_host_sources_keep_enabled_deb_entries_in_apts_order(host_apt):
    entries = debian.read_host_sources(host_apt)
    assert [entry.uris() for entry in entries] == [
        ["http://apt.internal/debian"], ["http://other.example/ubuntu"],
        ["http://mirror.internal/debian"], ["http://mirror.internal/debian-security"],
        ["https://vendor.example/apt"]]
    assert entries[2].get("Types") == "deb"


def test_the_hosts_release_moves_to_the_suite_asked_for(host_apt):
    entries = debian.for_suite(debian.read_host_sources(host_apt), "bookworm", "trixie")
    assert [entry.suites() for entry in entries] == [
        ["trixie-backports"], ["trixie", "trixie-updates"], ["trixie-security"]]
    assert entries[1].render({}) == (
        "Types: deb\nURIs: http://mirror.internal/debian\nSuites: trixie trixie-updates\n"
        "Components: main contrib\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    # sid has no -updates, -security or -backports
    assert [entry.suites() for entry in debian.for_suite(
        debian.read_host_sources(host_apt), "bookworm", "sid")] == [["sid"]]


def test_keyrings_keep_standard_paths_and_others_go_to_etc_apt_keyrings(host_apt):
    entries = debian.for_suite(debian.read_host_sources(host_apt), "bookworm", "bookworm")
    assert [entry.keyrings() for entry in entries] == [
        ["/opt/keys/internal.gpg"], ["/usr/share/keyrings/debian-archive-keyring.gpg"],
        ["/usr/share/keyrings/debian-archive-keyring.gpg"]]
    renames = {path: debian.image_keyring(path) for entry in entries
               for path in entry.keyrings()}
    assert renames == {
        "/opt/keys/internal.gpg": "/etc/apt/keyrings/internal.gpg",
        "/usr/share/keyrings/debian-archive-keyring.gpg":
            "/usr/share/keyrings/debian-archive-keyring.gpg"}
    assert entries[0].render(renames) == (
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/internal.gpg] http://apt.internal/debian "
        "bookworm-backports main\n")
    assert debian.image_keyring("/etc/apt/keyrings/vendor.gpg") == \
        "/etc/apt/keyrings/vendor.gpg"


def test_an_inline_key_is_kept_as_written():
    (stanza,) = debian.parse_deb822(
        "Types: deb\nURIs: http://x/\nSuites: bookworm\nComponents: main\nSigned-By:\n"
        " -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
        " -----END PGP PUBLIC KEY BLOCK-----\n")
    assert stanza.keyrings() == []
    assert stanza.render({"/x": "/y"}).endswith(
        "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
        " -----END PGP PUBLIC KEY BLOCK-----\n")


def test_mirror_and_source_lines_replace_the_hosts(tmp_path):
    keyring = tmp_path / "mirror.gpg"
    keyring.write_bytes(b"key")
    plan = debian.plan("bookworm", ["nginx, curl", "nginx"], None, None,
                       "https://mirror.example/debian", str(keyring),
                       ["deb [trusted=yes] http://local.example/ ./"])
    assert plan.reference == "debian:bookworm"
    assert plan.include == ["nginx", "curl", "ca-certificates"]   # https needs the CAs
    assert plan.keyrings == {str(keyring): "/etc/apt/keyrings/mirror.gpg"}
    assert plan.apt_options == []
    stanzas, lines = plan.sources_text(plan.keyrings)
    assert stanzas == ("Types: deb\nURIs: https://mirror.example/debian\nSuites: bookworm\n"
                       "Components: main\nSigned-By: /etc/apt/keyrings/mirror.gpg\n")
    assert lines == "deb [trusted=yes] http://local.example/ ./\n"
    assert plan.sources_text({})[0].endswith(f"Signed-By: {keyring}\n")


@pytest.mark.parametrize("arguments, message", [
    ({"suite": "Bookworm"}, "invalid suite 'Bookworm'"),
    ({"suite": "bookworm main"}, "invalid suite"),
    ({"include": ["--allow-downgrades"]}, "invalid package name '--allow-downgrades'"),
    ({"include": ["?essential"]}, "invalid package name '?essential'"),
    ({"variant": "custom"}, "invalid variant 'custom'"),
    ({"reference": "UPPER"}, "invalid reference format"),
    ({"keyring": "/etc/hostname"}, "--keyring checks the --mirror"),
    ({"mirror": "mirror.example"}, "invalid mirror"),
    ({"sources": ["deb http://x/"]}, "invalid source"),
    ({"sources": ["deb http://x/ y main\ndeb http://z/ y main"]}, "invalid source"),
])
def test_bad_arguments(arguments, message):
    with pytest.raises(InvalidArgument, match=message.replace("?", r"\?")):
        debian.plan(**{"suite": "bookworm", **arguments})


def test_a_keyring_the_sources_name_must_exist():
    with pytest.raises(NotFound, match="keyring /nonexistent/k.gpg not found"):
        debian.plan("bookworm", sources=["deb [signed-by=/nonexistent/k.gpg] http://x/ y main"])


def test_packages_may_name_a_version_or_a_release():
    plan = debian.plan("bookworm", ["nginx=1.22.1-9", "curl/bookworm-backports"])
    assert plan.include == ["nginx=1.22.1-9", "curl/bookworm-backports"]


def test_failures_read_as_one_line():
    assert debian.distill([
        "I: running apt-get update...",
        "Err:1 http://10.0.0.1 nosuch Release",
        "  404  Not Found [IP: 10.0.0.1 80]",
        "E: The repository 'http://10.0.0.1 nosuch Release' does not have a Release file.",
        "E: apt-get update -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed",
        "E: mmdebstrap failed to run"], "nosuch") == \
        "unknown suite nosuch: http://10.0.0.1 has no Release file for it"
    assert debian.distill([
        "E: Unable to locate package no-such-package",
        "E: setup failed: E: command failed: apt-get --simulate install no-such-package",
        "I: main() received signal PIPE: waiting for setup...",
        "E: mmdebstrap failed to run"], "bookworm") == \
        "unknown package no-such-package: it is not in bookworm of the apt sources"
    assert debian.distill([
        "W: Failed to fetch http://mirror.internal/debian/dists/bookworm/InRelease  "
        "Could not resolve 'mirror.internal'",
        "E: mmdebstrap failed to run"], "bookworm") == (
        "W: Failed to fetch http://mirror.internal/debian/dists/bookworm/InRelease  "
        "Could not resolve 'mirror.internal'")
    assert debian.distill(["E: cannot open /x: Permission denied",
                           "E: mmdebstrap failed to run"], "bookworm") == \
        "cannot open /x: Permission denied"
    assert debian.distill([], "bookworm") == "mmdebstrap failed"


def test_installed_packages_are_read_from_dpkgs_status(tmp_path):
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(
        "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
        "Package: apt\nStatus: install ok installed\nVersion: 2.6.1\n")
    assert debian.installed_packages(str(tmp_path)) == ["apt=2.6.1", "bash=5.2.15-2+b2"]


def test_two_keyrings_of_one_name_stay_apart(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for directory in ("a", "b"):
        (tmp_path / directory / "archive.gpg").write_bytes(directory.encode())
    plan = debian.plan("bookworm", sources=[
        f"deb [signed-by={tmp_path}/a/archive.gpg] http://a/ bookworm main",
        f"deb [signed-by={tmp_path}/b/archive.gpg] http://b/ bookworm main",
        f"deb [signed-by={tmp_path}/a/archive.gpg] http://c/ bookworm main"])
    assert plan.keyrings == {f"{tmp_path}/a/archive.gpg": "/etc/apt/keyrings/archive.gpg",
                             f"{tmp_path}/b/archive.gpg": "/etc/apt/keyrings/archive-2.gpg"}
