"""The command line as a whole: every verb's help, and the verbs that only report."""
import pytest

pytestmark = pytest.mark.privileged


def verbs(moor) -> list[str]:
    listing = moor("--help", check=True).stdout
    commands = listing.split("commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in commands.splitlines()[1:]
            if line.startswith("    ") and not line.startswith("     ")]


def test_every_verb_has_its_help(moor):
    names = verbs(moor)
    assert {"run", "ps", "exec", "cp", "network", "system", "info", "version"} <= set(names)
    for name in names:
        result = moor(name, "--help")
        assert result.returncode == 0 and result.stdout.startswith("usage: moor " + name), (
            name, result.stderr[-300:])
    assert "container-exited" not in moor("system", "--help").stdout


def test_info_and_version_report(moor):
    info = moor("info", check=True).stdout
    assert "Containers:" in info and "Images:" in info
    version = moor("version", check=True).stdout
    assert version.startswith("moor version ") and "runc" in version
