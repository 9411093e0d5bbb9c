"""Each team's containers get a network of their own on each host: the run request names it
(`team-<id>`), the host's worker makes it on first use and refuses networks of other teams
exactly as missing ones; the container's JSON and page show the network."""
import pytest

from console.agent import tasks
from console.containers import actions
from console.containers.models import Container
from console.containers.run_request import validate_run
from console.core.testing import make_container
from console.hosts.models import HostGrant
from console.jobs.models import Job
from console.teams.models import Membership


def run(client, **body):
    body.setdefault("image", "busybox")
    body.setdefault("host", "h1")
    return client.post("/api/containers/", body, content_type="application/json")


def own(world, team="alpha"):
    return f"team-{world.teams[team].pk}"


@pytest.mark.parametrize("body", [{}, {"network": ""}, {"network": "bridge"}])
def test_a_teams_container_goes_on_the_teams_network(world, client_for, body):
    response = run(client_for("developer"), **body)
    assert response.status_code == 202, response.content
    container = Container.objects.get(engine_id=response.json()["container"])
    assert container.options["network"] == own(world)


def test_a_developer_may_name_none_and_a_network_of_the_team(world, client_for):
    for network in ("none", "tools", own(world)):
        response = run(client_for("developer"), network=network)
        assert response.status_code == 202, response.content
        assert Container.objects.get(engine_id=response.json()["container"]).options[
            "network"] == network


def test_another_teams_network_is_no_such_network(world, client_for):
    other, missing = run(client_for("developer"), network=own(world, "beta")), run(
        client_for("developer"), network="team-999999")
    assert (other.status_code, missing.status_code) == (400, 400)
    assert other.json()["network"] == [f"No such network: {own(world, 'beta')} (on host h1)."]
    assert missing.json()["network"] == ["No such network: team-999999 (on host h1)."]
    assert Container.objects.count() == 2 and not Job.objects.exists()


def test_a_superuser_names_any_network(world, client_for):
    for network, expected in (("bridge", "bridge"), (own(world, "beta"), own(world, "beta"))):
        response = run(client_for("superuser"), team="alpha", network=network)
        assert response.status_code == 202, response.content
        assert Container.objects.get(engine_id=response.json()["container"]).options[
            "network"] == expected


def test_a_superusers_container_without_a_team_stays_on_the_hosts_bridge(world, client_for):
    response = run(client_for("superuser"))
    assert response.status_code == 202, response.content
    container = Container.objects.get(engine_id=response.json()["container"])
    assert container.team is None and "network" not in container.options


def test_joining_a_container_of_another_team_is_refused(world, client_for):
    """A member of two teams may not put a container of one into the network namespace of a
    container of the other."""
    developer = world.user("developer")
    Membership.objects.create(user=developer, team=world.teams["beta"], role="developer")
    HostGrant.objects.create(team=world.teams["beta"], host=world.hosts["h1"])
    make_container(world.hosts["h1"], world.teams["beta"], "betaweb")
    response = run(client_for("developer"), team="alpha", network="container:betaweb")
    assert response.status_code == 400
    assert response.json()["network"] == ["No such container on this host: betaweb."]
    response = run(client_for("developer"), team="beta", network="container:betaweb")
    assert response.status_code == 202, response.content


# -- the host's worker -------------------------------------------------------------------------

def request_run(world, persona="developer", **body):
    user = world.user(persona)
    return actions.run(user, validate_run(user, {"image": "busybox", "host": "h1", **body}))


def test_the_worker_makes_the_teams_network_before_the_container(world, engine, agent):
    container, job = request_run(world, name="first")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    verbs = [call[0] for call in engine.calls]
    assert verbs.index("ensure_network") < verbs.index("create")
    assert ("ensure_network", own(world), {"moorage.team": own(world)}) in engine.calls
    create = next(call[1] for call in engine.calls if call[0] == "create")
    assert create["network"] == own(world)
    assert engine.networks == {own(world): {"moorage.team": own(world)}}


@pytest.mark.parametrize("labels", [None, {"moorage.team": "team-0"}, {}, {"team": "alpha"}])
def test_a_network_the_team_does_not_own_fails_as_a_missing_one(world, engine, agent, labels):
    if labels is not None:
        engine.networks["tools"] = labels
    container, job = request_run(world, name="probe", network="tools")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "network tools not found")
    assert "create" not in [call[0] for call in engine.calls]
    assert not Container.objects.filter(pk=container.pk).exists()


def test_a_labelled_network_of_the_team_is_used(world, engine, agent):
    engine.networks["tools"] = {"moorage.team": own(world)}
    container, job = request_run(world, name="probe", network="tools")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert next(call[1] for call in engine.calls if call[0] == "create")["network"] == "tools"


def test_a_superuser_may_use_any_network(world, engine, agent):
    engine.networks["tools"] = {"moorage.team": own(world, "beta")}
    container, job = request_run(world, "superuser", team="alpha", network="tools")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error


def test_the_worker_checks_team_networks_whoever_asked(world, engine, agent):
    """A row naming another team's network (whatever let it through) is refused on the host,
    and no network is made for a team that does not exist."""
    container, job = request_run(world, name="sneaky")
    Container.objects.filter(pk=container.pk).update(options={"network": own(world, "beta")})
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", f"network {own(world, 'beta')} not found")
    container, job = request_run(world, "superuser", team="alpha", network="team-999999")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "network team-999999 not found")
    assert engine.networks == {}


def test_a_start_brings_back_the_teams_network(world, engine, agent):
    container, job = request_run(world, name="again")
    tasks.execute_job(job.pk)
    stop = actions.act(world.user("developer"), Container.objects.get(pk=container.pk), "stop")
    tasks.execute_job(stop.pk)
    engine.networks.clear()            # removed on the host meanwhile
    start = actions.act(world.user("developer"), Container.objects.get(pk=container.pk),
                        "start")
    tasks.execute_job(start.pk)
    start.refresh_from_db()
    assert start.state == "succeeded", start.error
    assert own(world) in engine.networks


def test_a_team_network_made_otherwise_fails_the_job_clearly(world, engine, agent):
    engine.networks[own(world)] = {}
    container, job = request_run(world, name="clash")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "not made for its team" in job.error


# -- shown ---------------------------------------------------------------------------------------

def test_the_json_and_the_page_show_the_network(world, client_for):
    web = world.containers["web"]
    web.options = {"network": own(world)}
    web.save()
    adopted = make_container(world.hosts["h1"], world.teams["alpha"], "adopted",
                             inspect_data={"HostConfig": {"NetworkMode": "tools"},
                                           "NetworkSettings": {"Networks": {"tools": {
                                               "IPAddress": "10.9.0.2", "Gateway": "10.9.0.1"}}}})
    client = client_for("viewer")
    listed = {c["name"]: c["network"] for c in client.get("/api/containers/").json()["results"]}
    assert listed == {"web": own(world), "adopted": "tools"}
    assert client.get("/api/containers/adopted/").json()["network"] == "tools"
    page = client.get(f"/containers/{adopted.engine_id}/").content.decode()
    assert "tools" in page and "10.9.0.2" in page
