"""The service's view of containers (runtime/service/view.py): the same listing as the
engine's, from records re-read only when their files change."""

import pytest

from runtime.service import view as view_module
from runtime.service.view import ContainerView

pytestmark = pytest.mark.privileged


def timeless(summaries: list[dict]) -> list[dict]:
    """Summaries without `Status`, whose "Up 2 seconds" moves on between two listings."""
    return [{key: value for key, value in summary.items() if key != "Status"}
            for summary in summaries]


def test_the_view_lists_what_the_engine_lists(engine, monkeypatch):
    monkeypatch.setattr(view_module, "RECENT_NS", 0)     # no write is "too recent" here
    view = ContainerView(engine)
    assert view.containers(all=True) == engine.containers(all=True) == []
    first = engine.create({"image": "busybox", "name": "one", "cmd": ["true"]})
    engine.run({"image": "busybox", "name": "two", "cmd": ["sleep", "300"],
                "network": "none"})
    assert timeless(view.containers(all=True)) == timeless(engine.containers(all=True))
    assert timeless(view.containers()) == timeless(engine.containers())
    reads = view.reads
    assert timeless(view.containers(all=True)) == timeless(engine.containers(all=True))
    assert view.reads == reads           # nothing changed: nothing read again
    engine.kill("two")
    engine.wait("two")
    assert sorted(c["State"] for c in view.containers(all=True)) == ["created", "exited"]
    assert timeless(view.containers(all=True)) == timeless(engine.containers(all=True))
    engine.rename(first, "renamed")
    assert "/renamed" in [c["Names"][0] for c in view.containers(all=True)]
    engine.remove("two")
    engine.remove("renamed")
    assert view.containers(all=True) == []


def test_a_file_written_just_now_is_read_again(engine):
    """Two writes in one tick of the file system's clock could look alike: a record whose
    file changed within RECENT_NS is read again at each listing."""
    view = ContainerView(engine)
    engine.create({"image": "busybox", "name": "fresh", "cmd": ["true"]})
    view.refresh()
    reads = view.reads
    view.refresh()
    assert view.reads == reads + 1
    engine.remove("fresh")
