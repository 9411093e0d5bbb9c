"""The host's side of stacks (`console/agent/stack_tasks.py`, `stack_engine.py`) with the real
engine on a private root and the real `runtime.compose`, and the console's side through the
real host API in this process (no broker: the jobs run here):
deploying, planning a change (what is recreated and why), the team's labels on containers,
networks and volumes, the rows following the engine, the rules only the host can hold
(another team's volume or project), stop, start, restart, down and removal with volumes."""
import contextlib
import tempfile

import pytest

from console.agent import console_api, stack_tasks, sync as agent_sync, tasks
from console.containers.models import Container
from console.hostapi import reconcile
from console.jobs.models import Job
from console.stacks import actions
from console.stacks.models import Stack
from console.stacks.requests import validate_stack
from console.volumes.models import Volume
from runtime.api import Engine
from runtime.compose import containers as compose_labels
from runtime.container import health_checker

pytestmark = [pytest.mark.privileged, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("agent")]

FILE = """services:
  web:
    image: busybox
    command: ["sh", "-c", "echo web $$GREETING; exec sleep 600"]
    environment:
      GREETING: ${GREETING}
    volumes: ["data:/srv"]
    depends_on: [db]
    stop_grace_period: 1s
  db:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
volumes:
  data: {}
"""


@pytest.fixture(scope="module")
def real_root():
    root = tempfile.mkdtemp(prefix="moorage-stack-tasks-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield root
    health_checker.stop_stand_in(engine.paths)
    engine.reset()


@pytest.fixture
def engine(real_root, monkeypatch, settings, tmp_path, world):
    settings.VAR_DIR = tmp_path / "var"
    monkeypatch.setenv("MOORAGE_VAR", str(tmp_path / "var"))
    settings.HOST_OFFLINE_AFTER_SECONDS = 3600
    real = Engine(real_root)
    monkeypatch.setattr("console.agent.tasks.get_engine", lambda: real)
    reconcile.sync_images(world.hosts["h1"], real.images(), trusted=True)
    yield real
    for summary in real.containers(all=True):
        project = (summary.get("Labels") or {}).get(compose_labels.PROJECT)
        if project:
            with contextlib.suppress(Exception):
                stack_tasks.compose.down(real, project, None, volumes=True,
                                         remove_orphans=True)
    for volume in real.volumes():
        with contextlib.suppress(Exception):
            real.volume_remove(volume["Name"])


def run(job) -> Job:
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    return job


def create(world, persona="developer", name="shop", text=FILE, env="GREETING=hello\n"):
    user = world.user(persona)
    req = validate_stack(user, {"name": name, "host": "h1", "team": "alpha", "compose": text,
                                "env": env})
    return actions.create(user, req)


def change(world, stack, persona="developer", **data):
    user = world.user(persona)
    return actions.deploy(user, stack, validate_stack(user, data, stack=stack))


def test_deploy_plan_change_and_rows(world, engine):
    stack, job = create(world)
    job = run(job)
    assert job.state == "succeeded", (job.error, job.output)
    assert "db: create (no container yet)" in job.output
    assert "web: container shop-web-1 Started" in job.output
    team = world.teams["alpha"]
    found = {compose_labels.service_of(s): s for s in compose_labels.project_containers(
        engine, "shop")}
    assert set(found) == {"web", "db"}
    assert all(s["Labels"]["moorage.team"] == "alpha" for s in found.values())
    assert engine.volume_inspect("shop_data")["Labels"]["moorage.team"] == f"team-{team.pk}"
    assert engine.network_inspect("shop_default")["Labels"]["moorage.team"] == f"team-{team.pk}"
    stack.refresh_from_db()
    assert sorted(e["service"] for e in stack.containers) == ["db", "web"]
    rows = Container.objects.filter(engine_id__in=stack.container_ids)
    assert {(row.name, row.team_id, row.state) for row in rows} == {
        ("shop-web-1", team.pk, "running"), ("shop-db-1", team.pk, "running")}

    # A plan changes nothing and says why web is recreated.
    user = world.user("developer")
    req = validate_stack(user, {"env": "GREETING=bonjour\n"}, stack=stack)
    plan = run(actions.plan(user, req, stack))
    assert plan.state == "succeeded", plan.error
    services = {item["service"]: item for item in plan.result["plan"]["services"]}
    assert services["web"]["action"] == "recreate"
    assert services["web"]["reasons"] == ["configuration changed: environment"]
    assert services["db"]["action"] == "keep"
    assert compose_labels.project_containers(engine, "shop")[0]["Id"] in stack.container_ids

    # Deploying it recreates web only; the old web's row goes, the new one comes.
    old_web = found["web"]["Id"]
    version, job = change(world, stack, env="GREETING=bonjour\n", message="french")
    job = run(job)
    assert job.state == "succeeded", (job.error, job.output)
    assert version.number == 2
    assert "web: recreate (configuration changed: environment)" in job.output
    stack.refresh_from_db()
    assert old_web not in stack.container_ids and found["db"]["Id"] in stack.container_ids
    assert not Container.objects.filter(engine_id=old_web).exists()
    new_web = next(e["id"] for e in stack.containers if e["service"] == "web")
    assert "GREETING=bonjour" in engine.inspect(new_web)["Config"]["Env"]

    # Stop, start, restart, down (volumes kept), then removal with them.
    for verb, states in (("stop", {"exited"}), ("start", {"running"}),
                         ("restart", {"running"})):
        job = run(actions.act(user, stack, verb))
        assert job.state == "succeeded", (verb, job.error)
        assert {s["State"] for s in compose_labels.project_containers(engine, "shop")} == states
    job = run(actions.act(user, stack, "down"))
    assert job.state == "succeeded", job.error
    assert compose_labels.project_containers(engine, "shop") == []
    assert engine.volume_inspect("shop_data")
    stack.refresh_from_db()
    assert stack.containers == [] and not Container.objects.filter(name="shop-db-1").exists()
    agent_sync.sync_host(console_api.get_api(), engine)
    volume = Volume.objects.get(name="shop_data")
    assert (volume.team_id, volume.project) == (team.pk, "shop")
    job = run(actions.remove(user, stack, volumes=True))
    assert job.state == "succeeded", job.error
    assert not Stack.objects.filter(pk=stack.pk).exists()
    assert not Volume.objects.filter(name="shop_data").exists()
    assert "shop_data" not in {v["Name"] for v in engine.volumes()}


def test_another_teams_volume_is_not_the_stacks(world, engine):
    """The file names a volume the host has for another team (one the console has no row of
    yet, so the web process let it through): as external it is missing, as the stack's own
    its name is taken; nothing is made."""
    from console.stacks.models import StackVersion

    engine.volume_create("shared", labels={"moorage.team": f"team-{world.teams['beta'].pk}"})
    external = FILE.replace("  data: {}", "  data:\n    external: true\n    name: shared")
    stack, job = create(world)
    StackVersion.objects.filter(stack=stack).update(compose=external)
    job = run(job)
    assert job.state == "failed"
    assert job.error == "volume shared declared as external, but could not be found"
    assert compose_labels.project_containers(engine, "shop") == []
    Stack.objects.filter(pk=stack.pk).delete()
    stack, job = create(world, text=FILE.replace("  data: {}", "  data:\n    name: shared"))
    job = run(job)
    assert (job.state, job.error) == ("failed", "volume name shared is taken on this host")
    assert compose_labels.project_containers(engine, "shop") == []


def test_a_project_made_outside_is_not_taken_over(world, engine):
    from runtime import compose

    project = compose.load(content=FILE, environ={"GREETING": "x"}, project_name="shop",
                           working_dir=tempfile.mkdtemp(), read_files=False)
    compose.up(engine, compose.plan_up(engine, project), timeout=30)
    stack, job = create(world)
    job = run(job)
    assert job.state == "failed"
    assert "of project shop on host h1 is not stack shop's" in job.error
    # The sync finds it a stack made outside, without a team (alpha's row is not it).
    Stack.objects.filter(pk=stack.pk).delete()
    agent_sync.sync_host(console_api.get_api(), engine)
    found = Stack.objects.get(name="shop")
    assert (found.made_outside, found.team, len(found.containers)) == (True, None, 2)
    actions.assign_team(world.user("superuser"), found, world.teams["alpha"])
    assert set(Container.objects.filter(engine_id__in=found.container_ids).values_list(
        "team__name", flat=True)) == {"alpha"}
    job = run(actions.act(world.user("operator"), found, "stop"))
    assert job.state == "succeeded", job.error
    assert {s["State"] for s in compose_labels.project_containers(engine, "shop")} == {"exited"}
