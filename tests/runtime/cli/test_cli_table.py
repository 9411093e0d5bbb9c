"""The verb table of `moor`: every verb and object verb has its help, options are never
abbreviated, an object verb is its top-level verb, and only the verb typed is loaded."""

import os
import subprocess
import sys

import pytest

from runtime.cli import COMMANDS

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def moor_here(*args, root=None):
    """`moor` without an engine behind it (parsing and help need none)."""
    env = {**os.environ, "MOORAGE_ROOT": root or "/nonexistent/moorage-root"}
    return subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY, env=env,
                          capture_output=True, text=True, timeout=60)


def every_command_line() -> list[tuple[str, ...]]:
    lines = []
    for verb in COMMANDS:
        if verb.verbs:
            lines.append((verb.name,))
            for sub in verb.verbs:
                lines.extend((verb.name, name) for name in (sub.name, *sub.aliases))
        else:
            lines.append((verb.name,))
    return lines


def test_every_verb_and_object_verb_has_its_help():
    failures = []
    for words in every_command_line():
        result = moor_here(*words, "--help")
        usage = result.stdout.split("\n", 1)[0]
        # An alias shows its verb's own name in the usage line, as Docker's does.
        if result.returncode != 0 or not usage.startswith("usage: moor " + words[0]):
            failures.append(f"{' '.join(words)}: {result.returncode} {result.stderr[-200:]}")
    assert not failures, "\n".join(failures)


# Each verb's help names the flags (and filter keys, formats) a Docker user looks for.
HELP_NAMES = [
    (("run",), ["--pull", "missing", "always", "never", "-q, --quiet", "--help",
                "-h HOSTNAME"]),
    (("create",), ["--pull", "-q, --quiet"]),
    (("images",), ["--digests", "-f KEY=VALUE, --filter KEY=VALUE", "dangling=", "reference=",
                   "label=", "before=", "since=", "--format", "--no-trunc", "-a, --all"]),
    (("image", "ls"), ["--digests", "--filter"]),
    (("ps",), ["-f KEY=VALUE, --filter KEY=VALUE", "network=", "volume=", "publish=",
               "expose=", "before=", "since=", "ancestor=", "health=", "label=", "exited=",
               "status=", "-s, --size", "-n LAST, --last LAST", "-l, --latest"]),
    (("save",), ["--format", "docker-archive", "oci-archive", "-o OUTPUT"]),
    (("load",), ["-i FILE|DIRECTORY", "OCI layout directory", "zstd", "-q, --quiet"]),
    (("build",), ["PATH|-", "-f PATH, --file PATH", "standard input", "--build-arg",
                  "--target", "--no-cache", "-q, --quiet", "-t NAME[:TAG]"]),
    (("pull",), ["NAME[:TAG|@DIGEST]", "--insecure", "-q, --quiet"]),
    (("update",), ["-m MEMORY, --memory MEMORY", "--memory-swap", "--cpus", "--pids-limit",
                   "--restart"]),
    (("search",), ["--limit", "--filter", "stars=N", "--no-trunc", "--format"]),
    (("network", "prune"), ["-f, --force", "--filter", "until="]),
    (("builder", "prune"), ["-a, --all", "-f, --force", "--filter"]),
    (("system", "df"), ["--format", ".Reclaimable"]),
    (("system", "prune"), ["-a, --all", "-f, --force", "--volumes"]),
    (("system", "df"), ["-v, --verbose", "--format"]),
    (("run",), ["--health-cmd", "--health-on-failure", "--group GROUP, --cgroup-parent GROUP",
                "--log-opt", "--mount", "--tmpfs", "-v [HOST-DIR|VOLUME:]CONTAINER-DIR"]),
    (("image", "bootstrap"), ["busybox", "debian", "--suite", "--include", "--mirror"]),
    (("build",), ["--network"]),
    (("volume", "prune"), ["-a, --all", "--filter", "-f, --force"]),
    (("group", "set"), ["-m MEMORY, --memory MEMORY", "--cpus", "--pids-limit"]),
    (("events",), ["--since", "--until", "--filter", "--format"]),
    (("system", "service"), ["--socket PATH", "--group"]),
    (("network", "connect"), ["--alias"]),
    (("container", "prune"), ["-f, --force"]),
    (("image", "prune"), ["-a, --all", "-f, --force"]),
    (("exec",), ["-i, --interactive", "-t, --tty", "-d, --detach", "-u USER"]),
]


def test_each_help_names_its_flags():
    failures = []
    for words, names in HELP_NAMES:
        help_text = " ".join(moor_here(*words, "--help").stdout.split())
        failures += [f"{' '.join(words)}: {name}" for name in names
                     if " ".join(name.split()) not in help_text]
    top = moor_here("--help").stdout
    failures += [f"moor --help: {verb}" for verb in (
        "search", "update", "builder", "container", "image", "network", "system", "volume",
        "group", "compose", "events") if f"\n    {verb} " not in top]
    assert not failures, "\n".join(failures)


def test_hidden_verbs_stay_out_of_the_listings():
    system_help = moor_here("system", "--help").stdout
    for hidden in ("container-exited", "exec-exited", "log-keeper"):
        assert hidden not in system_help
        assert moor_here("system", hidden, "--help").returncode == 0   # yet they are verbs
    assert "not a moor command" in moor_here("system", "no-such-verb").stderr
    top = moor_here("--help").stdout
    for verb in COMMANDS:
        assert top.count(f"\n    {verb.name} ") == 1, verb.name


def test_the_listing_has_dockers_sections_and_every_verb_once():
    top = moor_here("--help").stdout
    assert top.startswith("usage: moor [-h] [--root ROOT] COMMAND ...\n")
    sections = [line for line in top.splitlines() if line.endswith("commands:") or
                line == "Commands:"]
    assert sections == ["Common commands:", "Management commands:", "Commands:"]
    management = top.split("Management commands:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in management.splitlines()] == [
        "builder", "compose", "container", "group", "image", "network", "system", "volume"]
    assert len(COMMANDS) == len({verb.name for verb in COMMANDS})


def test_an_unknown_verb_is_dockers_one_line():
    result = moor_here("bogus")
    assert (result.returncode, result.stdout, result.stderr) == (
        125, "", "moor: 'bogus' is not a moor command.\nSee 'moor --help'.\n")
    result = moor_here("volume", "bogus")
    assert result.stderr == "moor: 'volume bogus' is not a moor command.\n" \
                            "See 'moor volume --help'.\n"


def test_compose_takes_the_projects_options_before_its_verb():
    result = moor_here("compose", "-f", "x.yaml", "-p", "shop", "--env-file=prod.env",
                       "up", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: moor compose up ")
    assert "--wait-timeout" in result.stdout
    result = moor_here("compose", "--project-directory", "/tmp", "ps", "--bogus")
    assert result.stderr == "moor: unknown flag: --bogus\nSee 'moor compose ps --help'.\n"
    result = moor_here("compose", "--proj", "x", "ps")      # not --project-name
    assert result.returncode == 125 and result.stdout == ""


@pytest.mark.parametrize("words, flag", [
    (("run", "--pid", "host", "busybox"), "--pid"),          # not --pids-limit
    (("create", "--mem", "64m", "busybox"), "--mem"),         # not --memory(-swap)
    (("ps", "--no-tru"), "--no-tru"),
    (("container", "ls", "--las", "1"), "--las"),
    (("image", "ls", "--dig"), "--dig"),
    (("network", "create", "--sub", "10.9.0.0/24", "n"), "--sub"),
])
def test_options_are_never_abbreviated(words, flag):
    result = moor_here(*words)
    assert result.returncode == 125, result
    assert result.stderr.startswith(f"moor: unknown flag: {flag}\nSee 'moor "), result.stderr


def test_an_unknown_flag_names_the_verbs_help():
    result = moor_here("container", "ls", "--bogus")
    assert result.stderr == "moor: unknown flag: --bogus\nSee 'moor container ls --help'.\n"
    result = moor_here("run", "--bogus", "busybox")
    assert result.stderr == "moor: unknown flag: --bogus\nSee 'moor run --help'.\n"


def test_run_and_create_keep_h_for_the_host_name():
    for verb in ("run", "create"):
        help_text = moor_here(verb, "--help").stdout
        assert "-h HOSTNAME, --hostname HOSTNAME" in help_text
        assert "\n  --help " in help_text


def test_a_group_alone_prints_its_own_help():
    for group in ("container", "image", "network", "system", "volume", "group"):
        result = moor_here(group)
        assert result.returncode == 0
        assert result.stdout.startswith(f"usage: moor {group} [-h] COMMAND ...")


def _modules_loaded(argv: list[str]) -> set[str]:
    code = ("import sys; from runtime.cli import build_parser; "
            f"build_parser({argv!r}); "
            "print(' '.join(m for m in sys.modules if m.startswith('runtime.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def test_only_the_module_of_the_verb_typed_is_imported():
    cli_modules = {m for m in _modules_loaded(["--help"]) if m.startswith("runtime.cli.")}
    assert cli_modules == set()
    assert {m for m in _modules_loaded(["images", "-q"])
            if m.startswith("runtime.cli.")} == {"runtime.cli.images", "runtime.cli.output"}
    assert "runtime.cli.containers" not in _modules_loaded(["image", "ls"])
    assert "runtime.cli.images" not in _modules_loaded(["container", "ls"])


@pytest.mark.privileged
def test_object_verbs_do_what_their_verbs_do(engine, moor):
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "objverbs"})
    try:
        pairs = [
            (["ps", "-a", "-q", "--no-trunc"], ["container", "ls", "-a", "-q", "--no-trunc"]),
            (["ps", "-a", "-q", "--no-trunc"], ["container", "ps", "-a", "-q", "--no-trunc"]),
            (["ps", "-a", "-q", "--no-trunc"], ["container", "list", "-a", "-q", "--no-trunc"]),
            (["images", "-q"], ["image", "ls", "-q"]),
            (["images", "--format", "{{.Repository}}"], ["image", "list", "--format",
                                                         "{{.Repository}}"]),
            (["inspect", "-f", "{{.Name}}", "objverbs"],
             ["container", "inspect", "-f", "{{.Name}}", "objverbs"]),
            (["history", "-q", "busybox"], ["image", "history", "-q", "busybox"]),
            (["logs", "objverbs"], ["container", "logs", "objverbs"]),
            (["port", "objverbs"], ["container", "port", "objverbs"]),
            (["info", "-f", "{{.Driver}}"], ["system", "info", "-f", "{{.Driver}}"]),
        ]
        for plain, grouped in pairs:
            expected, got = moor(*plain), moor(*grouped)
            assert (got.returncode, got.stdout, got.stderr) == \
                (expected.returncode, expected.stdout, expected.stderr), (plain, grouped)
        assert container_id in moor("container", "ls", "-a", "--no-trunc", "-q").stdout
        # `container inspect` is about containers only, as Docker's.
        result = moor("container", "inspect", "busybox")
        assert (result.returncode, result.stderr) == (1, "Error: No such container: busybox\n")
        assert moor("container", "rm", "objverbs").stdout == "objverbs\n"
        assert moor("container", "ls", "-a", "-q", "--no-trunc").stdout.count(container_id) == 0
    finally:
        subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root, "rm",
                        "-f", container_id], cwd=REPOSITORY, capture_output=True)
