"""Fixtures for Compose projects on the engine's test root (see tests/runtime/conftest.py):
`compose_project(text)` writes a project directory and loads it; every project a test
touched is brought down (containers, networks) after it, and the stand-in health checker
`up` may have started is ended."""

import pytest

from runtime import compose
from runtime.container import health_checker
from runtime.network import list_networks, remove_network


@pytest.fixture
def compose_project(engine, tmp_path):
    names = set()

    def make(text: str, name: str = "proj", environ=None, **options):
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        (directory / "compose.yaml").write_text(text)
        project = compose.load(working_dir=str(directory), environ=environ or {}, **options)
        names.add(project.name)
        return project

    yield make
    for name in names:
        compose.down(engine, name, volumes=True, remove_orphans=True)
    for network in list_networks(engine.paths):
        if (network.get("Labels") or {}).get("com.docker.compose.project") in names:
            remove_network(engine.paths, network["Name"])
    health_checker.stop_stand_in(engine.paths)


@pytest.fixture
def up(engine):
    """Plan and carry out `up`; returns (plan as a dict, {service: container ID}, events)."""
    def run(project, **options):
        plan = compose.plan_up(engine, project, **options)
        events = []
        started = compose.up(engine, plan, progress=events.append, timeout=30)
        return plan.to_dict(), started, events
    return run
