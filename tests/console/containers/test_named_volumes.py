"""Named volumes are the team's, not the host's: `binds: ["data:/srv"]` is for developers, a
host directory (`/srv:/srv`) stays superusers'; another team's volume is "no such volume",
on the web side and on the host; a container holding only volumes is no host holder (its
terminal is not a superuser's only); removal takes its anonymous volumes with ?volumes=1."""
import pytest

from console.agent import tasks
from console.containers import actions
from console.containers.host_access import host_access
from console.containers.models import Container
from console.containers.run_request import validate_run
from console.core.testing import make_container
from console.jobs.models import Job
from console.volumes.models import Volume


def run(client, **body):
    body.setdefault("image", "busybox")
    body.setdefault("host", "h1")
    return client.post("/api/containers/", body, content_type="application/json")


def test_a_developer_mounts_a_named_volume(world, client_for):
    response = run(client_for("developer"), binds=["data:/srv", "cache:/var/cache:ro"])
    assert response.status_code == 202, response.content
    container = Container.objects.get(engine_id=response.json()["container"])
    assert container.options["binds"] == ["data:/srv", "cache:/var/cache:ro"]


@pytest.mark.parametrize("bind", ["/:/host", "./here:/srv", "~/x:/srv", "/etc:/etc:ro"])
def test_a_host_directory_is_still_superusers(world, client_for, bind):
    response = run(client_for("developer"), binds=[bind])
    assert response.status_code == 403
    assert "Only a superuser may set 'binds'" in response.json()["binds"][0]
    assert run(client_for("superuser"), binds=[bind]).status_code == 202


@pytest.mark.parametrize("bind, words", [
    ("x:/srv", "Invalid volume name 'x'"), ("a/b:/srv", "Invalid volume name"),
    ("data:", "is not SOURCE:/PATH"), ("data:/srv:ro:extra", "is not SOURCE:/PATH"),
    ("data:/s\nrv", "is not SOURCE:/PATH"),
])
def test_bad_volume_values_are_refused(world, client_for, bind, words):
    response = run(client_for("developer"), binds=[bind])
    assert response.status_code == 400 and words in response.json()["binds"][0], response.json()


def test_another_teams_volume_is_no_such_volume(world, client_for):
    Volume.objects.create(host=world.hosts["h1"], name="theirs", team=world.teams["beta"])
    Volume.objects.create(host=world.hosts["h1"], name="hosts", team=None)
    Volume.objects.create(host=world.hosts["h1"], name="ours", team=world.teams["alpha"])
    for name in ("theirs", "hosts"):
        response = run(client_for("developer"), binds=[f"{name}:/srv"])
        assert response.status_code == 400
        assert response.json()["binds"] == [f"No such volume: {name} (on host h1)."]
    assert run(client_for("developer"), binds=["ours:/srv"]).status_code == 202
    assert run(client_for("superuser"), binds=["theirs:/srv"]).status_code == 202


def test_a_container_with_volumes_holds_nothing_of_the_host(world):
    web = world.containers["web"]
    web.inspect_data = {"HostConfig": {"Binds": ["data:/srv"]},
                        "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/srv"}]}
    web.options = {"binds": ["data:/srv", "/anonymous"]}
    web.save()
    assert host_access(web) == []
    web.inspect_data["Mounts"].append({"Type": "bind", "Source": "/etc", "Destination": "/e"})
    assert host_access(web) == ["bind mounts of the host"]
    web.inspect_data = {}
    web.options = {"binds": ["/etc:/e"]}
    assert host_access(web) == ["bind mounts of the host"]


# -- the host's worker -------------------------------------------------------------------------

def request_run(world, persona="developer", **body):
    user = world.user(persona)
    return actions.run(user, validate_run(user, {"image": "busybox", "host": "h1", **body}))


def test_the_worker_makes_a_new_volume_as_the_teams(world, engine, agent):
    container, job = request_run(world, name="first", binds=["data:/srv"])
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    team = f"team-{world.teams['alpha'].pk}"
    assert engine.volume_rows["data"]["Labels"] == {"moorage.team": team}
    verbs = [call[0] for call in engine.calls]
    assert verbs.index("volume_create") < verbs.index("create")


@pytest.mark.parametrize("labels", [{}, {"moorage.team": "team-0"}, {"moorage.team": "beta"}])
def test_a_volume_the_team_does_not_own_fails_as_a_missing_one(world, engine, labels, agent):
    engine.volume_create("theirs", labels=labels)
    container, job = request_run(world, name="probe", binds=["theirs:/srv"])
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "No such volume: theirs")
    assert "create" not in [call[0] for call in engine.calls]


def test_a_volume_given_to_the_team_or_labelled_its_own_is_used(world, engine, agent):
    engine.volume_create("given")
    Volume.objects.create(host=world.hosts["h1"], name="given", team=world.teams["alpha"])
    engine.volume_create("labelled", labels={"moorage.team": "alpha"})
    container, job = request_run(world, name="probe", binds=["given:/a", "labelled:/b"])
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error


# -- removal -------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, volumes", [("?force=1", False), ("?force=1&volumes=1", True)])
def test_removal_takes_anonymous_volumes_when_asked(world, client_for, engine, query, volumes,
                                                  agent):
    web = world.containers["web"]
    engine.containers_by_id[web.engine_id] = {
        "Id": web.engine_id, "Name": "web", "Status": "running", "ExitCode": 0,
        "StartedAt": "", "FinishedAt": "", "Created": "", "Image": "busybox", "Cmd": []}
    response = client_for("developer").delete(f"/api/containers/web/{query}")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.params == ({"force": True, "volumes": True} if volumes else {"force": True})
    tasks.execute_job(job.pk)
    assert ("remove", web.engine_id, True, volumes) in engine.calls


def test_the_page_removes_with_volumes_when_ticked(world, client_for):
    other = make_container(world.hosts["h1"], world.teams["alpha"], "spare", state="exited")
    response = client_for("developer").post(f"/containers/{other.engine_id}/remove/",
                                            {"force": "1", "volumes": "1"})
    assert response.status_code == 302
    assert Job.objects.get(kind="remove").params == {"force": True, "volumes": True}


def test_the_run_form_mounts_volumes(world, client_for):
    form = {"host": "h1", "image": "busybox:latest", "name": "withvol", "restart": "no",
            "volumes": "data:/srv\r\ncache:/cache:ro\r\n"}
    response = client_for("developer").post("/containers/run/", form)
    assert response.status_code == 302, response.content
    assert Container.objects.get(name="withvol").options["binds"] == ["data:/srv",
                                                                      "cache:/cache:ro"]
    response = client_for("developer").post("/containers/run/", {
        **form, "name": "hostdir", "volumes": "/etc:/etc"})
    assert response.status_code == 403
    assert "Only a superuser may set &#x27;binds&#x27;" in response.content.decode()
    assert not Container.objects.filter(name="hostdir").exists()
