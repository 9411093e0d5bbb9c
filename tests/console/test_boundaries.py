"""The one-way boundary: runtime/ never imports Django, Celery or the console, and in console/
only console/jobs/ imports runtime."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def top(name):
    return name.split(".")[0]


def test_runtime_imports_no_web_code():
    for path in (ROOT / "runtime").rglob("*.py"):
        bad = {m for m in imported_modules(path) if top(m) in ("django", "celery", "console",
                                                               "channels", "rest_framework")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_console_jobs_imports_runtime():
    for path in (ROOT / "console").rglob("*.py"):
        if path.is_relative_to(ROOT / "console" / "jobs"):
            continue
        bad = {m for m in imported_modules(path) if top(m) == "runtime"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
