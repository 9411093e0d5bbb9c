"""The one-way boundaries: runtime/ never imports Django, Celery or the console; in console/,
only the host agent (console/agent/) runs the engine, and the web side imports nothing of the
agent. The web side reads what users type with the engine's own grammar, through one module
that may import the engine's pure parsers, at its top, and nothing else of it.

The agent runs on hosts that hold only their key: it imports no Django (no ORM, no settings,
no secret key), no Channels, no DRF, and of the console only the pure modules both sides
share; checked in its code and in a process that loads all of it."""
import ast
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENT = ROOT / "console" / "agent"
# The web side's one door to the engine's code, and the pure modules it may import there.
GRAMMAR = ROOT / "console" / "core" / "engine_grammar.py"
# What the agent may import of the console besides itself: pure modules, written once for
# both sides (names on the wire, the stream protocol, the engine's grammar).
AGENT_SHARED = {"console.jobs.wire", "console.streams.bridge_protocol",
                "console.core.engine_grammar"}
WEB_ONLY = ("django", "channels", "rest_framework", "drf_spectacular", "daphne", "csp",
            "whitenoise", "dj_database_url", "psycopg")
GRAMMAR_MODULES = {"runtime.compose.interpolation",
                   "runtime.compose.normalize", "runtime.compose.project",
                   "runtime.compose.source", "runtime.errors",
                   "runtime.image.build.instructions",
                   "runtime.image.build.parser", "runtime.image.build.words",
                   "runtime.image.distribution.names", "runtime.image.reference",
                   "runtime.network.ports"}


def imports(path):
    """(module, at the module's top level) of each absolute import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, id(node) in top_level) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            # `from package import module` imports the module.
            yield from ((name if name in GRAMMAR_MODULES or is_module(name) else node.module,
                         id(node) in top_level) for name in names)


def is_module(name: str) -> bool:
    """Whether `name` is a module of this repository (not a name inside one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def modules(path):
    return {module for module, _ in imports(path)}


def top(name):
    return name.split(".")[0]


def web_side():
    return [path for path in (ROOT / "console").rglob("*.py") if not path.is_relative_to(AGENT)]


def test_runtime_imports_no_web_code():
    for path in (ROOT / "runtime").rglob("*.py"):
        bad = {m for m in modules(path) if top(m) in ("django", "celery", "console",
                                                      "channels", "rest_framework")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_agent_imports_runtime():
    for path in web_side():
        if path == GRAMMAR:
            continue
        bad = {m for m in modules(path) if top(m) == "runtime"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_grammar_imports_only_the_engines_pure_parsers_and_at_its_top():
    found = [(module, at_top) for module, at_top in imports(GRAMMAR) if top(module) == "runtime"]
    assert found, "the grammar module no longer reads with the engine's grammar"
    assert {module for module, _ in found} <= GRAMMAR_MODULES, found
    assert all(at_top for _, at_top in found), f"imports hidden in functions: {found}"


def test_the_web_side_imports_nothing_of_the_agent():
    for path in web_side():
        bad = {m for m in modules(path) if m == "console.agent" or m.startswith("console.agent.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"



def test_the_web_side_of_the_bridge_protocol_is_written_once():
    """Only the bridge client builds the messages the web side sends to a host's bridge
    (their types all start with "bridge.")."""
    client = ROOT / "console" / "streams" / "bridge_client.py"
    for path in web_side():
        if path == client:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        built = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                 and isinstance(node.value, str) and node.value.startswith("bridge.")]
        assert not built, f"{path.relative_to(ROOT)} builds bridge messages: {built}"


def agent_modules():
    return sorted(AGENT.rglob("*.py"))


def test_the_agent_imports_no_web_code():
    for path in agent_modules():
        found = modules(path)
        web = {m for m in found if top(m) in WEB_ONLY}
        assert not web, f"{path.relative_to(ROOT)} imports {web}"
        console = {m for m in found if top(m) == "console" and not m.startswith(
            "console.agent") and m not in AGENT_SHARED}
        assert not console, f"{path.relative_to(ROOT)} imports {console}"


def test_the_agent_loaded_whole_has_no_database_settings_or_channels():
    """Every agent module imported in a fresh process: nothing of Django's ORM or settings,
    of Channels or of the console's web side is loaded (kombu may load django.utils, which it
    probes for; nothing more)."""
    names = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in agent_modules()]
    names = [name.removesuffix(".__init__") for name in names]
    script = ("import sys\n"
              + "".join(f"import {name}\n" for name in names)
              + "print('\\n'.join(sorted(sys.modules)))\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY")}
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.split()
    forbidden = [name for name in loaded if name.startswith(
        ("django.db", "django.conf", "django.apps", "django.contrib", "channels",
         "rest_framework", "daphne"))
        or (name.startswith("console.") and not name.startswith("console.agent")
            and name not in AGENT_SHARED | {"console.jobs", "console.streams", "console.core"})]
    assert not forbidden, forbidden
