"""Compose projects on real containers: up, edits that recreate exactly what changed,
dependency conditions, orphans, down, and plans refused with nothing made."""

import pytest

from runtime import compose
from runtime.compose import containers as labels
from runtime.compose.errors import ComposeError
from runtime.network import list_networks

pytestmark = pytest.mark.privileged

STACK = """
services:
  db:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    networks:
      back:
        aliases: [database]
  app:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    environment:
      MODE: ${MODE:-one}
    depends_on: [db]
    networks: [back, front]
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      app: {condition: service_started}
    networks: [front]
  tool:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    networks: [front]
networks:
  back: {}
  front: {}
"""


def _hosts(engine, container_id: str) -> dict[str, set[str]]:
    with open(engine.paths.container(container_id) + "/hosts") as file:
        return {line.split()[0]: set(line.split()[1:]) for line in file if line.strip()}


def _names_on(engine, container_id: str) -> set[str]:
    return {name for names in _hosts(engine, container_id).values() for name in names}


def test_up_makes_the_networks_and_containers_with_compose_labels(engine, compose_project, up):
    project = compose_project(STACK)
    plan, started, events = up(project)
    assert [(item["service"], item["action"]) for item in plan["services"]] == [
        ("db", "create"), ("app", "create"), ("web", "create"), ("tool", "create")]
    assert sorted(plan["networks"]) == ["proj_back", "proj_front"]
    summaries = {labels.service_of(s): s for s in engine.compose_containers("proj")}
    assert set(summaries) == {"db", "app", "web", "tool"}
    app = summaries["app"]
    assert app["Names"] == ["/proj-app-1"] and app["State"] == "running"
    assert {key: app["Labels"][key] for key in (labels.PROJECT, labels.SERVICE, labels.NUMBER,
                                                labels.ONEOFF)} == {
        labels.PROJECT: "proj", labels.SERVICE: "app", labels.NUMBER: "1",
        labels.ONEOFF: "False"}
    assert app["Labels"][labels.CONFIG_HASH] == labels.config_hash(project, "app")
    networks = {network["Name"]: network["Labels"] for network in list_networks(engine.paths)}
    assert networks["proj_back"] == {labels.PROJECT: "proj", labels.NETWORK: "back",
                                     labels.VERSION: labels.COMPOSE_VERSION}
    # services reach each other by name and alias on the networks they share, and only there
    assert {"db", "database", "proj-db-1"} <= _names_on(engine, started["app"])
    assert {"app", "tool"} <= _names_on(engine, started["web"])
    assert "db" not in _names_on(engine, started["web"])
    assert engine.inspect(started["app"])["Config"]["Env"].count("MODE=one") == 1
    # the steps, in dependency order
    order = [event["service"] for event in events
             if event["kind"] == "container" and event["status"] == "Started"]
    assert order == ["db", "app", "web", "tool"]


def test_an_edit_recreates_the_changed_service_and_its_dependents_only(engine, compose_project,
                                                                       up):
    _, before, _ = up(compose_project(STACK))
    again = compose.plan_up(engine, compose_project(STACK))
    assert [item.action for item in again.services] == ["keep"] * 4
    assert not again.changes()

    edited = compose_project(STACK, environ={"MODE": "two"})
    plan, after, _ = up(edited)
    actions = {item["service"]: (item["action"], item["reasons"]) for item in plan["services"]}
    assert actions == {
        "db": ("keep", []),
        "app": ("recreate", ["configuration changed: environment"]),
        "web": ("recreate", ["it depends on app, which is recreated"]),
        "tool": ("keep", []),
    }
    assert after["db"] == before["db"] and after["tool"] == before["tool"]
    assert after["app"] != before["app"] and after["web"] != before["web"]
    assert "MODE=two" in engine.inspect(after["app"])["Config"]["Env"]
    # the old containers are gone, the new ones have the service's name
    ids = {summary["Id"] for summary in engine.compose_containers("proj")}
    assert ids == set(after.values())
    assert engine.inspect(after["app"])["Name"] == "/proj-app-1"
    assert "app" in _names_on(engine, after["web"])


def test_a_stopped_service_is_started_and_force_recreate_recreates(engine, compose_project,
                                                                   up):
    project = compose_project(STACK)
    _, before, _ = up(project)
    engine.stop(before["tool"], timeout=1)
    plan, after, _ = up(project)
    tool = next(item for item in plan["services"] if item["service"] == "tool")
    assert (tool["action"], tool["reasons"]) == ("start", ["it is exited"])
    assert after["tool"] == before["tool"]
    assert engine.inspect(before["tool"])["State"]["Running"]
    plan, after, _ = up(project, services=["db"], force_recreate=True, no_deps=True)
    assert [(item["service"], item["action"]) for item in plan["services"]] == [
        ("db", "recreate")]
    assert after["db"] != before["db"]


def test_orphans_are_named_and_removed_only_when_asked(engine, compose_project, up):
    up(compose_project(STACK))
    smaller = compose_project(STACK.replace("  tool:\n", "  x-tool:\n"))
    plan = compose.plan_up(engine, smaller)
    assert [orphan["name"] for orphan in plan.to_dict()["orphans"]] == ["proj-tool-1"]
    compose.up(engine, plan)
    assert "tool" in {labels.service_of(s) for s in engine.compose_containers("proj")}
    up(smaller, remove_orphans=True)
    assert "tool" not in {labels.service_of(s) for s in engine.compose_containers("proj")}


def test_down_removes_the_projects_containers_and_networks_only(engine, compose_project, up,
                                                                moor):
    up(compose_project(STACK))
    outsider = engine.run({"image": "busybox", "cmd": ["sleep", "60"], "name": "outsider"})
    events = []
    compose.down(engine, "proj", compose_project(STACK), progress=events.append)
    assert engine.compose_containers("proj") == []
    assert not [network for network in list_networks(engine.paths)
                if network["Name"].startswith("proj_")]
    assert engine.inspect(outsider)["State"]["Running"]
    removed = [event["name"] for event in events if event["status"] == "Removed"
               and event["kind"] == "container"]
    # dependents go first
    assert removed.index("proj-web-1") < removed.index("proj-app-1") < removed.index(
        "proj-db-1")


def test_a_failed_dependency_stops_the_dependent_and_names_it(engine, compose_project, up):
    project = compose_project("""
services:
  migrate:
    image: busybox
    command: sh -c 'exit 3'
  app:
    image: busybox
    command: sleep 600
    depends_on:
      migrate: {condition: service_completed_successfully}
""")
    with pytest.raises(ComposeError, match="service app was not started: its dependency "
                                           r"migrate did not complete successfully \(exit "
                                           r"code 3\)"):
        up(project)
    assert {labels.service_of(s) for s in engine.compose_containers("proj")} == {"migrate"}


def test_a_dependency_that_completes_lets_the_dependent_start(engine, compose_project, up):
    project = compose_project("""
services:
  migrate:
    image: busybox
    command: sh -c 'echo done > /dev/null'
  app:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      migrate: {condition: service_completed_successfully}
""")
    _, started, events = up(project)
    assert engine.inspect(started["app"])["State"]["Running"]
    assert ("migrate", "Exited") in [(event["service"], event["status"]) for event in events]


def test_a_new_container_that_fails_puts_the_old_one_back(engine, compose_project, up):
    _, before, _ = up(compose_project(STACK))
    broken = compose_project(STACK.replace("  tool:\n    image: busybox\n    command: sleep 600",
                                           "  tool:\n    image: busybox\n    command: /no/such"))
    with pytest.raises(Exception, match="no/such"):
        up(broken, services=["tool"])
    tool = engine.inspect(before["tool"])
    assert tool["Name"] == "/proj-tool-1" and tool["State"]["Running"]
    assert {s["Id"] for s in engine.compose_containers("proj")} == set(before.values())


@pytest.mark.parametrize("text, message", [
    ("services:\n  web:\n    image: busybox\n    networks: [out]\nnetworks:\n  out:\n"
     "    external: true\n    name: nowhere\n",
     "network nowhere declared as external, but could not be found"),
    # a loopback registry where nothing listens: the pull fails before anything is made
    ("services:\n  web:\n    image: 127.0.0.1:1/no-such-image\n",
     "service web: pulling 127.0.0.1:1/no-such-image: "),
    ("services:\n  db:\n    image: busybox\n  web:\n    image: busybox\n    depends_on:\n"
     "      db: {condition: service_healthy}\n",
     "service web waits for db to be healthy, but db has no health check"),
    ("services:\n  web:\n    image: busybox\n    volumes:\n      - type: bind\n"
     "        source: /no/such/dir\n        target: /data\n",
     "bind source /no/such/dir does not exist"),
])
def test_a_plan_that_cannot_be_carried_out_makes_nothing(engine, compose_project, up, text,
                                                         message):
    networks_before = {network["Name"] for network in list_networks(engine.paths)}
    with pytest.raises(Exception, match=message):
        up(compose_project(text))
    assert engine.compose_containers("proj") == []
    assert {network["Name"] for network in list_networks(engine.paths)} == networks_before


def test_init_runs_the_service_under_the_engines_init(engine, compose_project, up, moor):
    project = compose_project("services:\n  web:\n    image: busybox\n    init: true\n"
                              "    command: sleep 600\n  plain:\n    image: busybox\n"
                              "    command: sleep 600\n")
    _, started, _ = up(project)
    first = {name: moor("exec", started[name], "ps", "-o", "pid,comm", check=True
                        ).stdout.splitlines()[1].split() for name in started}
    assert first == {"web": ["1", "init"], "plain": ["1", "sleep"]}
    assert engine.inspect(started["web"])["HostConfig"]["Init"] is True
    compose.down(engine, "proj", project, timeout=0)


def test_a_network_not_made_for_the_project_is_refused(engine, compose_project, up, moor):
    moor("network", "create", "proj_default", check=True)
    try:
        with pytest.raises(ComposeError, match="network proj_default exists but was not made "
                                               "for project proj"):
            up(compose_project("services:\n  web:\n    image: busybox\n"))
        assert engine.compose_containers("proj") == []
    finally:
        moor("network", "rm", "proj_default", check=True)


def test_containers_labelled_by_docker_compose_are_the_same_project(engine, compose_project,
                                                                    up, moor, tmp_path):
    """docker-compose 1.29 names containers proj_web_1 and writes its own config hash; the
    labels make them this project's."""
    engine.run({"image": "busybox", "cmd": ["sleep", "600"], "name": "proj_web_1",
                "labels": {labels.PROJECT: "proj", labels.SERVICE: "web",
                           labels.NUMBER: "1", labels.ONEOFF: "False",
                           labels.CONFIG_HASH: "0" * 64,
                           "com.docker.compose.version": "1.29.2"}})
    listed = moor("compose", "-p", "proj", "-f", str(tmp_path / "none.yaml"), "ps")
    assert listed.returncode != 0   # no such file named: an error, not an empty list
    project = compose_project("services:\n  web:\n    image: busybox\n    command: sleep 600\n")
    listed = moor("compose", "--project-directory", project.working_dir, "-f",
                  f"{project.working_dir}/compose.yaml", "ps", check=True).stdout
    assert "proj_web_1" in listed
    plan = compose.plan_up(engine, project)
    assert (plan.services[0].action, plan.services[0].container["Names"]) == (
        "recreate", ["/proj_web_1"])
    # without a file, the name alone brings the project down
    moor("compose", "-p", "proj", "down", check=True)
    assert engine.compose_containers("proj") == []
