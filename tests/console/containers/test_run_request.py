"""POST /api/containers/ and the run form: valid requests make a job; bad input gets a clear
message beside its field, never a 500, and nothing is created."""
import pytest

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.jobs.models import Job


def run(client, **body):
    body.setdefault("image", "busybox")
    body.setdefault("host", "h1")
    return client.post("/api/containers/", body, content_type="application/json")


def nothing_created(before=2):
    return Container.objects.count() == before and not Job.objects.exists()


def test_a_developer_runs_a_container(world, client_for, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = run(client_for("developer"), name="job1", cmd=["sleep", "300"],
                       env=["TOKEN=s3cret"], memory="64m", cpus=0.5, pids_limit=64,
                       restart="on-failure:3")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    container = Container.objects.get(engine_id=response.json()["container"])
    assert (job.kind, job.state, job.host.name, job.team.name) == ("run", "queued", "h1", "alpha")
    assert container.state == "pending" and container.name == "job1"
    assert container.options == {"memory": 64 * 2 ** 20, "cpus": 0.5, "pids_limit": 64,
                                  "restart": "on-failure:3",
                                  "network": f"team-{world.teams['alpha'].pk}"}
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get(action="container.run")
    assert entry.job == job and entry.actor_name == "developer" and entry.result == "requested"
    assert entry.params["env"] == ["TOKEN=[redacted]"]
    assert "s3cret" not in str(entry.params)


def test_create_only(world, client_for):
    response = run(client_for("developer"), start=False)
    assert response.status_code == 202
    assert Job.objects.get().kind == "create"


@pytest.mark.parametrize("body, field, words", [
    ({"image": "nosuch:1.0"}, "image", "No such image: nosuch:1.0"),
    ({"name": "web"}, "name", "already in use on host h1"),
    ({"memory": "abc"}, "memory", "Invalid memory 'abc'"),
    ({"memory": 10 ** 30}, "memory", "Host h1 has only 2.0 GiB of memory"),
    ({"memory": "3g"}, "memory", "Host h1 has only 2.0 GiB of memory"),
    ({"cpus": -1}, "cpus", "CPUs must be a positive number"),
    ({"cpus": "many"}, "cpus", "CPUs must be a positive number"),
    ({"pids_limit": 0}, "pids_limit", "at least 1"),
    ({"restart": "sometimes"}, "restart", "Restart policy"),
    ({"env": ["1BAD=x"]}, "env", "NAME=value"),
    ({"name": "bad name!"}, "name", "Invalid name"),
    ({"ports": ["http"]}, "ports", "HOSTPORT:CONTAINERPORT"),
    ({"host": "h9"}, "host", "No such host: h9"),
    ({"host": "h2"}, "host", "No such host: h2"),
    ({"team": "beta"}, "team", "No team 'beta'"),
    ({"surprise": 1}, "surprise", "Unknown field"),
])
def test_bad_input_is_a_clear_400(world, client_for, body, field, words):
    response = run(client_for("developer"), **body)
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert nothing_created()


def test_an_offline_host_is_refused(world, client_for):
    world.hosts["h1"].state = "offline"
    world.hosts["h1"].save()
    response = run(client_for("developer"))
    assert response.status_code == 400
    assert "Host h1 is offline" in response.json()["host"][0]
    assert nothing_created()


@pytest.mark.parametrize("body", [
    {"binds": ["/:/host"]}, {"privileged": True}, {"cap_add": ["SYS_ADMIN"]},
    {"network": "host"},
])
def test_host_handing_options_are_superuser_only(world, client_for, body):
    response = run(client_for("team_admin"), **body)
    assert response.status_code == 403
    assert "Only a superuser" in str(response.json())
    assert nothing_created()
    assert AuditEntry.objects.filter(action="container.run", result="denied",
                                     actor_name="team_admin").count() == 1


@pytest.mark.parametrize("network_of_web", ["host", "container:{hostnet}"])
def test_joining_a_container_on_the_host_network_is_superuser_only(world, client_for,
                                                                   network_of_web):
    """`network: container:web` shares web's network namespace: when web has the host's
    (itself, or through the container whose network it joined), so would the new one."""
    from console.core.testing import make_container

    hostnet = make_container(world.hosts["h1"], world.teams["alpha"], "hostnet",
                             options={"network": "host"})
    web = world.containers["web"]
    web.inspect_data = {"HostConfig": {
        "NetworkMode": network_of_web.format(hostnet=hostnet.engine_id)}}
    web.save()
    response = run(client_for("developer"), network="container:web")
    assert response.status_code == 403, response.content
    assert "Only a superuser may join the network of web" in str(response.json())
    assert nothing_created(before=3)
    entry = AuditEntry.objects.get(action="container.run", result="denied")
    assert entry.actor_name == "developer" and entry.params["network"] == "container:web"
    assert run(client_for("superuser"), network="container:web").status_code == 202


def test_joining_a_container_on_its_own_network_is_fine(world, client_for):
    response = run(client_for("developer"), network="container:web")
    assert response.status_code == 202, response.content
    assert Container.objects.get(name="").options == {
        "network": f"container:{world.containers['web'].engine_id}", "pids_limit": 4096}


@pytest.mark.parametrize("alias", ["Binds", "Mounts", "HostConfig", "volumes", "Privileged",
                                   "CapAdd", "security_opt", "ipc"])
def test_other_spellings_of_host_options_are_refused(world, client_for, alias):
    response = run(client_for("developer"), **{alias: ["/:/host"]})
    assert response.status_code == 400
    assert nothing_created()


def test_a_superuser_may_hand_the_host(world, client_for):
    response = run(client_for("superuser"), binds=["/srv:/srv:ro"], privileged=True)
    assert response.status_code == 202
    assert Container.objects.get(name="").options == {"binds": ["/srv:/srv:ro"],
                                                      "privileged": True}


@pytest.mark.parametrize("persona, status", [("viewer", 403), ("operator", 403),
                                             ("stranger", 400), ("anonymous", 401)])
def test_running_needs_the_developer_role(world, client_for, persona, status):
    response = run(client_for(persona))
    assert response.status_code == status
    assert nothing_created()


def test_the_run_form_shows_errors_beside_the_fields(world, client_for):
    client = client_for("developer")
    page = client.post("/containers/run/", {"host": "h1", "image": "busybox:latest",
                                            "name": "web", "memory": "abc", "cpus": "-1",
                                            "restart": "no"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "already in use on host h1" in html
    assert "Invalid memory &#x27;abc&#x27;" in html
    assert "CPUs must be a positive number" in html
    assert nothing_created()


def test_the_run_form_runs(world, client_for):
    page = client_for("developer").post("/containers/run/", {
        "host": "h1", "image": "busybox:latest", "name": "fresh", "command": "sleep 300",
        "env": "A=1\nB=2", "restart": "no"})
    container = Container.objects.get(name="fresh")
    assert page.status_code == 302 and page.url == f"/containers/{container.engine_id}/"
    assert container.command == ["sleep", "300"] and container.env == ["A=1", "B=2"]


def test_the_run_form_sets_network_and_ports(world, client_for):
    page = client_for("developer").post("/containers/run/", {
        "host": "h1", "image": "busybox:latest", "name": "served", "command": "httpd -f",
        "restart": "no", "network": "bridge", "ports": "8080:80, 5353:53/udp"})
    container = Container.objects.get(name="served")
    assert page.status_code == 302
    assert container.options["network"] == f"team-{world.teams['alpha'].pk}"
    assert container.options["ports"] == ["8080:80", "5353:53/udp"]
    assert container.options["publish_loopback"] is False


def test_the_run_form_refuses_bad_ports_and_the_host_network(world, client_for):
    client = client_for("developer")
    page = client.post("/containers/run/", {"host": "h1", "image": "busybox:latest",
                                            "restart": "no", "ports": "http:eighty"})
    assert "Ports are [IP:]HOSTPORT:CONTAINERPORT" in page.content.decode()
    page = client.post("/containers/run/", {"host": "h1", "image": "busybox:latest",
                                            "restart": "no", "network": "host"})
    assert page.status_code == 403
    assert "Only a superuser may set" in page.content.decode()
    assert nothing_created()
    entry = AuditEntry.objects.get(action="container.run", result="denied")
    assert entry.actor_name == "developer" and entry.params["network"] == "host"


def test_a_run_request_is_json(world, client_for, sent):
    """A form cannot carry the lists a run request is made of: refused with what to send."""
    answer = client_for("developer").post("/api/containers/", {"image": "busybox",
                                                               "host": "h1"})
    assert answer.status_code == 415 and "as JSON" in answer.json()["detail"]
    assert sent == []


def test_a_member_of_several_teams_is_asked_which(world, client_for, sent,
                                                  django_capture_on_commit_callbacks):
    from console.teams.models import Membership

    developer = world.user("developer")
    Membership.objects.create(user=developer, team=world.teams["beta"], role="developer")
    client = client_for("developer")
    form = client.get("/containers/run/").content.decode()
    assert '<select name="team"' in form and ">alpha<" in form and ">beta<" in form
    answer = client.post("/api/containers/", {"image": "busybox", "host": "h1"},
                         content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["team"] == ["You are in several teams: choose one."]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/api/containers/", {"image": "busybox", "host": "h2",
                                                  "team": "beta"},
                             content_type="application/json")
    assert answer.status_code == 202, answer.json()
    assert Container.objects.get(engine_id=answer.json()["container"]).team.name == "beta"
