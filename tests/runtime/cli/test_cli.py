"""The command line as a whole: every verb's help, and the verbs that only report."""
import pytest

pytestmark = pytest.mark.privileged


SECTIONS = ("Common commands:", "Management commands:", "Commands:")


def verbs(moor) -> list[str]:
    """The verbs `moor --help` lists, in Docker's three sections."""
    listing = moor("--help", check=True).stdout
    names = []
    for title in SECTIONS:
        section = listing.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0]
        names += [line.split()[0] for line in section.splitlines()
                  if line.startswith("    ") and not line.startswith("     ")]
    return names


def test_every_verb_has_its_help(moor):
    names = verbs(moor)
    assert {"run", "ps", "exec", "cp", "network", "system", "info", "version", "volume",
            "group", "compose", "events"} <= set(names)
    assert len(names) == len(set(names)), "a verb listed twice"
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
