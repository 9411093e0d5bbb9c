"""The console's fixtures, for every test under tests/console/ (the engine's are in
tests/runtime/conftest.py; the real stack, `stack`, in tests/conftest.py).

The personas (`world`, `client_for`, `persona`: see `console.core.testing`), a fake engine at
the runtime boundary (`engine`), the jobs that would have been sent (`sent`), terminal
recordings in a temporary directory (`recordings`), what a user's sockets were told (`listen`),
and a chain of commits (`chain`). Tests of the console's own code (those using the database)
run with an in-memory channel layer, fast password hashing, an empty cache, and `sent`
instead of a broker."""
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from console.core.testing import PASSWORD, PERSONAS, build_world, make_commit
from console.streams import groups
from tests.console.streams_fixtures import drain


def uses_database(request) -> bool:
    return bool(request.node.get_closest_marker("django_db")) or any(
        name in request.fixturenames for name in ("db", "transactional_db", "world"))


@pytest.fixture
def sent():
    """Messages that would have gone to the broker: (task name, args, queue)."""
    return []


@pytest.fixture
def redis_users():
    """What would have been done to the hosts' Redis users: ("grant", host, key) or
    ("revoke", host)."""
    return []


@pytest.fixture(autouse=True)
def console_unit_isolation(request, sent, redis_users):
    """For tests of the console's own code (those using the database): an in-memory channel
    layer, fast password hashing, an empty cache, `sent` instead of a broker and
    `redis_users` instead of Redis's ACL."""
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
    from console.hosts import redis_users as acl

    monkeypatch.setattr(acl, "grant", lambda host, key: redis_users.append(("grant", host, key)))
    monkeypatch.setattr(acl, "revoke", lambda host: redis_users.append(("revoke", host)))
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
def agent(world, monkeypatch):
    """Host h1's agent, talking to the console in this process: its key made as a join
    would, the host API reached through Django's test client (`tests/console/agent_api.py`).
    The agent's code runs as on a host, against the real host API."""
    from tests.console.agent_api import agent_of

    return agent_of(world.hosts["h1"], monkeypatch)


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


@pytest.fixture
def recordings(settings, tmp_path):
    """Terminal recordings go to a temporary directory."""
    settings.RECORDINGS_DIR = tmp_path / "recordings"
    return settings.RECORDINGS_DIR


@pytest.fixture
def listen():
    """`listen(user)` -> a function returning what has been sent to that user's sockets."""
    layer = get_channel_layer()

    def make(user):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(groups.user_group(user.pk), channel)
        return lambda: drain(layer, channel)
    return make


@pytest.fixture
def chain(world):
    """base -> one (alpha/tool:v1) -> two -> three (alpha/tool:v3); two -> side; and beta's
    own commit on h2."""
    base = world.images["h1"]
    one = make_commit(world, base, 1, tags=["alpha/tool:v1"], repository="alpha/tool", tag="v1")
    two = make_commit(world, one[0], 2, author="team_admin")
    three = make_commit(world, two[0], 3, tags=["alpha/tool:v3"], repository="alpha/tool",
                        tag="v3", message="three\n\nthe long story")
    side = make_commit(world, two[0], 4, tags=["alpha/side:latest"], repository="alpha/side")
    theirs = make_commit(world, world.images["h2"], 9, team="beta", host="h2", author="stranger",
                         tags=["beta/x:latest"], repository="beta/x")
    return {"one": one, "two": two, "three": three, "side": side, "theirs": theirs}
