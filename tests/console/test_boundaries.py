"""The one-way boundaries: runtime/ never imports Django, Celery or the console; in console/,
only the host agent (console/agent/) runs the engine, and the web side imports nothing of the
agent. The web side reads what users type with the engine's own grammar, through one module
that may import the engine's pure parsers, at its top, and nothing else of it."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENT = ROOT / "console" / "agent"
# The web side's one door to the engine's code, and the pure modules it may import there.
GRAMMAR = ROOT / "console" / "core" / "engine_grammar.py"
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
            yield from ((name if name in GRAMMAR_MODULES else node.module, id(node) in top_level)
                        for name in names)


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
