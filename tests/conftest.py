"""Shared test configuration: privileged tests skip, saying why, when not run as root; the real
stack (`stack`: Redis, daphne, and a host worker and its stream bridge on free ports, the
scheduler when a test starts it; tests/stack.py; `postgres_stack`, the same on PostgreSQL)
for the end-to-end and browser tests, whose failures report the end of each process's log.
The engine's fixtures are in tests/runtime/conftest.py, the console's in
tests/console/conftest.py."""
import os

import pytest

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "test-artifacts")


def pytest_collection_modifyitems(config, items):
    """Tests that need root skip, saying why, when not run as root."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (real containers)")
    for item in items:
        if "privileged" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack():
    """The real console stack (Redis, daphne, and for host "e2e" a worker and a stream bridge
    on a temporary engine root; the scheduler once a test calls `start_scheduler`), started
    once for the e2e and browser tests and torn down at the end. Its database is SQLite, or
    PostgreSQL with MOORAGE_TEST_DATABASE=postgres."""
    yield from started_stack(os.environ.get("MOORAGE_TEST_DATABASE", "sqlite"))


@pytest.fixture(scope="session")
def postgres_stack(request):
    """The real stack on a PostgreSQL cluster of its own (tests/postgres.py), for the tests of
    several hosts sharing one console: the same stack as `stack` when that one runs on
    PostgreSQL already."""
    if os.environ.get("MOORAGE_TEST_DATABASE") == "postgres":
        yield request.getfixturevalue("stack")
        return
    from tests.postgres import missing

    why = missing()
    if why:
        pytest.skip(why)
    yield from started_stack("postgres")


def started_stack(database: str, **options):
    """A real stack (`tests.stack.Stack(database=..., **options)`), started, and stopped
    afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the real stack needs root")
    from tests.stack import Stack

    the_stack = Stack(database=database, **options)
    try:
        the_stack.start()
        yield the_stack
    finally:
        the_stack.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test of the real stack reports the end of each of its processes' logs, so
    that a failure seen only in CI's output can still be read."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    the_stack = funcargs.get("stack") or funcargs.get("postgres_stack")
    if report.failed and the_stack is not None and report.when in ("setup", "call"):
        for name, text in the_stack.log_tails():
            report.sections.append((f"{name}.log (its end)", text))
