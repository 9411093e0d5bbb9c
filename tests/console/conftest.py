"""Fixtures of the console's unit tests: the shared personas (`console.core.testing`), a fake
engine at the runtime boundary, an in-memory channel layer, and a record of dispatched jobs
instead of a broker."""
import pytest
from django.test import Client

from console.core.testing import PASSWORD, PERSONAS, build_world
from tests.console.fake_engine import FakeEngine


@pytest.fixture(autouse=True)
def memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    cache.clear()   # login limits, reaper throttle


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    """Messages that would have gone to the broker: (task name, args, queue)."""
    from console.jobs import dispatch

    messages = []
    monkeypatch.setattr(dispatch.app, "send_task",
                        lambda name, args=None, queue=None, **kw: messages.append(
                            (name, list(args or []), queue)))
    return messages


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def engine(monkeypatch):
    fake = FakeEngine()
    monkeypatch.setattr("console.jobs.host_tasks.get_engine", lambda: fake)
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
