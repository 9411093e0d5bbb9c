"""Shared test configuration. Fixtures for the engine live in tests/runtime/conftest.py.

Here, for every console test wherever it lives: the personas (`world`, `client_for`,
`persona`; see `console.core.testing`), a fake engine at the runtime boundary (`engine`), the
jobs that would have been sent (`sent`), and the real stack (`stack`: Redis, daphne and a host
worker on free ports, tests/stack.py) for the end-to-end and browser tests."""
import os

import pytest
from django.test import Client

from console.core.testing import PASSWORD, PERSONAS, build_world

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test of the real stack reports the end of each of its processes' logs, so
    that a failure seen only in CI's output can still be read."""
    outcome = yield
    report = outcome.get_result()
    the_stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed and the_stack is not None and report.when in ("setup", "call"):
        for name, text in the_stack.log_tails():
            report.sections.append((f"{name}.log (its end)", text))


def uses_database(request) -> bool:
    return bool(request.node.get_closest_marker("django_db")) or any(
        name in request.fixturenames for name in ("db", "transactional_db", "world"))


@pytest.fixture
def sent():
    """Messages that would have gone to the broker: (task name, args, queue)."""
    return []


@pytest.fixture(autouse=True)
def console_unit_isolation(request, sent):
    """For tests of the console's own code (those using the database): an in-memory channel
    layer, fast password hashing, an empty cache, and `sent` instead of a broker."""
    if not uses_database(request):
        yield
        return
    settings = request.getfixturevalue("settings")
    monkeypatch = request.getfixturevalue("monkeypatch")
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    cache.clear()   # login limits, reaper throttle
    from console.jobs import dispatch

    monkeypatch.setattr(dispatch.app, "send_task",
                        lambda name, args=None, queue=None, **kw: sent.append(
                            (name, list(args or []), queue)))
    yield


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def engine(monkeypatch):
    """A fake engine at the runtime boundary, handed to the host tasks."""
    from tests.console.fake_engine import FakeEngine

    fake = FakeEngine()
    monkeypatch.setattr("console.agent.tasks.get_engine", lambda: fake)
    return fake


@pytest.fixture
def client_for(world):
    """`client_for("viewer")`: a test client logged in as that persona (CSRF enforced)."""
    def make(persona, csrf=False):
        client = Client(enforce_csrf_checks=csrf)
        user = world.user(persona)
        if user is not None:
            assert client.login(username=user.username, password=PASSWORD)
        return client
    return make


@pytest.fixture(params=PERSONAS)
def persona(request):
    return request.param
