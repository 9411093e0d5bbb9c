"""Named volumes in Compose projects: made with the project's labels, kept by down and by
recreating, removed by down -v, and refused when a volume of that name is not the
project's."""

import pytest

from runtime import compose
from runtime.compose import containers as labels
from runtime.compose.errors import ComposeError

pytestmark = pytest.mark.privileged

FILE = """
services:
  store:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    environment:
      ROUND: ${ROUND:-1}
    volumes:
      - data:/data
volumes:
  data: {}
"""


def _exec(engine, container_id, command: str) -> str:
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root,
                           "exec", container_id, "sh", "-c", command], capture_output=True,
                          text=True, check=True).stdout


def _write(engine, container_id, text):
    _exec(engine, container_id, f"echo {text} >> /data/log")


def _read(engine, container_id) -> str:
    return _exec(engine, container_id, "cat /data/log")


def test_a_named_volume_outlives_recreate_and_down_but_not_down_v(engine, compose_project, up):
    project = compose_project(FILE)
    plan, started, _ = up(project)
    assert plan["volumes"] == ["proj_data"]
    volume = engine.volume_inspect("proj_data")
    assert volume["Labels"] == {labels.PROJECT: "proj", labels.VOLUME: "data",
                                labels.VERSION: labels.COMPOSE_VERSION}
    _write(engine, started["store"], "one")
    plan, again, _ = up(compose_project(FILE, environ={"ROUND": "2"}))
    assert plan["volumes"] == [] and again["store"] != started["store"]
    _write(engine, again["store"], "two")
    compose.down(engine, "proj", project)
    assert engine.volume_inspect("proj_data")["Name"] == "proj_data"
    _, third, _ = up(compose_project(FILE))
    assert _read(engine, third["store"]) == "one\ntwo\n"
    compose.down(engine, "proj", project, volumes=True)
    assert [v["Name"] for v in engine.volumes() if v["Name"] == "proj_data"] == []


def test_a_volume_of_that_name_not_made_for_the_project_is_refused(engine, compose_project,
                                                                   up):
    engine.volume_create("proj_data", labels={"moorage.team": "team-7"})
    try:
        with pytest.raises(ComposeError, match="volume proj_data exists but was not made for "
                                               "project proj"):
            up(compose_project(FILE))
        assert engine.compose_containers("proj") == []
        # the console's rule for another team's volume: as if it were someone else's name
        with pytest.raises(ComposeError, match="volume name proj_data is taken on this host"):
            compose.plan_up(engine, compose_project(FILE),
                            may_use=lambda kind, name: False)
    finally:
        engine.volume_remove("proj_data")


def test_an_external_volume_must_exist_and_is_never_removed(engine, compose_project, up):
    text = FILE.replace("  data: {}", "  data:\n    external: true\n    name: shared-data")
    with pytest.raises(ComposeError, match="volume shared-data declared as external, but "
                                           "could not be found"):
        up(compose_project(text))
    engine.volume_create("shared-data")
    try:
        project = compose_project(text)
        up(project)
        compose.down(engine, "proj", project, volumes=True)
        assert engine.volume_inspect("shared-data")["Name"] == "shared-data"
    finally:
        engine.volume_remove("shared-data")
