"""Shared test configuration. Fixtures for the engine live in tests/runtime/conftest.py; the
console's personas and fake engine in tests/console/conftest.py; the real stack (Redis, a host
worker, daphne on free ports) in tests/stack.py, used by tests/e2e and tests/browser."""
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
    """The real console stack (Redis, daphne, a worker for host "e2e" on a temporary engine
    root), started once for the e2e and browser tests and torn down at the end."""
    if os.geteuid() != 0:
        pytest.skip("the real stack needs root")
    from tests.stack import Stack

    the_stack = Stack()
    try:
        the_stack.start()
        yield the_stack
    finally:
        the_stack.stop()
