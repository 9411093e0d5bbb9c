"""`host: "any"`: the console puts a container on the host of its team with the most free memory
that can take it, and says where and why; a host that cannot take it is left out, with the
reason; no host at all is a clear 400 and nothing is made."""
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from console.containers.models import Container
from console.core.errors import Invalid
from console.core.testing import make_container
from console.hosts import placement
from console.hosts.models import Host, HostGrant
from console.images.models import Image
from console.jobs.models import Job

GiB = 1024 ** 3


@pytest.fixture
def h3(world):
    """A second host of team alpha, with busybox, as roomy as h1 by default."""
    host = Host.objects.create(name="h3", state="online", last_seen=timezone.now(), cpus=4,
                               memory=16 * GiB, memory_available=8 * GiB)
    HostGrant.objects.create(team=world.teams["alpha"], host=host)
    Image.objects.create(host=host, image_id=world.images["h1"].image_id,
                         tags=["busybox:latest"], size=1_200_000)
    Host.objects.filter(name="h1").update(memory=16 * GiB, memory_available=8 * GiB)
    world.hosts["h1"].refresh_from_db()
    return host


def run_any(client_for, persona="developer", **fields):
    body = {"image": "busybox", "host": "any", "cmd": ["sleep", "300"], **fields}
    return client_for(persona).post("/api/containers/", json.dumps(body),
                                    content_type="application/json")


def test_the_host_with_the_most_free_memory_takes_it_and_the_job_says_why(
        world, client_for, h3, sent, django_capture_on_commit_callbacks):
    Host.objects.filter(name="h1").update(memory_available=3 * GiB)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_any(client_for, name="placed", memory="512m")
    assert response.status_code == 202, response.content
    answer = response.json()
    container = Container.objects.get(engine_id=answer["container"])
    assert container.host.name == "h3"
    # h1 holds `web` (no limit): its free memory is its available memory.
    assert answer["placement"] == ("placed on h3: 8.0 GiB free of 16.0 GiB (512.0 MiB asked), "
                                   "the most among h1 (3.0 GiB), h3 (8.0 GiB)")
    job = Job.objects.get(pk=answer["id"])
    assert job.host.name == "h3" and job.output.startswith("placed on h3: 8.0 GiB free")
    assert sent == [("console.jobs.execute", [job.pk], "host.h3")]
    detail = client_for("developer").get(f"/api/jobs/{job.pk}/").json()
    assert detail["output"].startswith("placed on h3")


def test_limits_of_containers_that_hold_memory_count_as_taken(world, client_for, h3):
    """Running, paused, restarting and pending containers' limits are taken from what the host
    had available; exited ones and containers without a limit take nothing more."""
    alpha = world.teams["alpha"]
    make_container(h3, alpha, "big", state="running", options={"memory": 3 * GiB})
    make_container(h3, alpha, "coming", state="pending", options={"memory": 1 * GiB})
    make_container(h3, alpha, "done", state="exited", options={"memory": 4 * GiB})
    make_container(h3, alpha, "unlimited", state="running")
    # What the engine reported wins over what was asked (a container made with `moor`).
    make_container(h3, alpha, "outside", state="paused",
                   inspect_data={"HostConfig": {"Memory": GiB // 2}})
    room = placement.room_of(h3)
    assert (room.available, room.reserved, room.free) == (8 * GiB, 4 * GiB + GiB // 2,
                                                          3 * GiB + GiB // 2)
    response = run_any(client_for)
    assert Container.objects.get(engine_id=response.json()["container"]).host.name == "h1"


def test_two_requests_in_a_row_spread_before_any_heartbeat(world, client_for, h3):
    """The first container's limit is taken from its host at once: the next request, before
    either host reports again, goes to the other one."""
    Container.objects.filter(name="web").update(state="exited")
    first = run_any(client_for, name="one", memory="2g").json()
    second = run_any(client_for, name="two", memory="2g").json()
    assert first["placement"].startswith("placed on h1: 8.0 GiB free")   # a tie: by name
    assert second["placement"] == ("placed on h3: 8.0 GiB free of 16.0 GiB (2.0 GiB asked), "
                                   "the most among h1 (6.0 GiB), h3 (8.0 GiB)")
    assert [Container.objects.get(engine_id=answer["container"]).host.name
            for answer in (first, second)] == ["h1", "h3"]


def test_hosts_that_cannot_take_it_are_left_out_saying_why(world, client_for, h3):
    alpha = world.teams["alpha"]
    offline = Host.objects.create(name="h4", state="online", memory=GiB,
                                  last_seen=timezone.now() - timedelta(hours=1))
    cordoned = Host.objects.create(name="h5", state="online", last_seen=timezone.now(),
                                   memory=GiB, cordoned=True)
    empty = Host.objects.create(name="h6", state="online", last_seen=timezone.now(),
                                memory=64 * GiB, memory_available=32 * GiB)
    for host in (offline, cordoned, empty):
        HostGrant.objects.create(team=alpha, host=host)
    make_container(h3, alpha, "taken")
    Host.objects.filter(name="h1").update(memory_available=GiB)
    before = (Container.objects.count(), Job.objects.count())
    response = run_any(client_for, name="taken", memory="2g")
    assert response.status_code == 400
    assert response.json() == {"host": [
        "No host can take the container: h1 (1.0 GiB free of 16.0 GiB, 2.0 GiB asked), "
        "h3 (the name taken is in use there), h4 (offline), h5 (cordoned), "
        "h6 (no image busybox)."]}
    assert (Container.objects.count(), Job.objects.count()) == before
    # What fits is chosen, and what was left out is said too.
    answer = run_any(client_for, name="fits", memory="64m").json()
    assert answer["placement"] == (
        "placed on h3: 8.0 GiB free of 16.0 GiB (64.0 MiB asked), the most among h1 (1.0 GiB), "
        "h3 (8.0 GiB); left out: h4 (offline), h5 (cordoned), h6 (no image busybox)")


def test_a_team_with_no_host_to_place_on_is_told(world, client_for):
    HostGrant.objects.filter(team=world.teams["alpha"]).delete()
    response = run_any(client_for)
    assert response.status_code == 400
    assert response.json()["host"] == ["Team alpha is granted no host to place the container "
                                       "on."]


def test_only_the_teams_hosts_are_candidates(world, client_for, h3):
    """beta's h2 is the roomiest, but not alpha's to use (nor named in the answer)."""
    Host.objects.filter(name="h2").update(memory_available=64 * GiB, memory=128 * GiB)
    answer = run_any(client_for).json()
    assert "h2" not in answer["placement"]
    assert Container.objects.get(engine_id=answer["container"]).host.name in ("h1", "h3")


def test_a_superusers_container_without_a_team_may_go_to_any_host(world, client_for, h3):
    Host.objects.filter(name="h2").update(memory_available=64 * GiB, memory=128 * GiB)
    answer = run_any(client_for, "superuser").json()
    container = Container.objects.get(engine_id=answer["container"])
    assert container.host.name == "h2" and container.team is None
    assert container.image == world.images["h2"]


def test_a_container_joining_anothers_network_goes_to_that_ones_host(world, client_for, h3):
    Host.objects.filter(name="h3").update(memory_available=64 * GiB)
    answer = run_any(client_for, network="container:web").json()
    container = Container.objects.get(engine_id=answer["container"])
    assert container.host.name == "h1"
    assert container.options["network"] == f"container:{world.containers['web'].engine_id}"
    assert answer["placement"].endswith("the only host that can take it")


def test_cpus_beyond_a_host_leave_it_out(world, client_for, h3):
    Host.objects.filter(name="h3").update(memory_available=64 * GiB)
    answer = run_any(client_for, cpus=3).json()
    assert answer["placement"].startswith("placed on h3")
    response = run_any(client_for, cpus=6)
    assert response.json()["host"] == ["No host can take the container: h1 (2 CPUs, 6 asked), "
                                       "h3 (4 CPUs, 6 asked)."]


def test_a_named_cordoned_host_takes_no_new_container_but_keeps_its_own(world, client_for,
                                                                       sent):
    Host.objects.filter(name="h1").update(cordoned=True)
    response = client_for("developer").post(
        "/api/containers/", json.dumps({"image": "busybox", "host": "h1"}),
        content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"host": ["Host h1 is cordoned: it takes no new containers (a "
                                        "superuser uncordons it)."]}
    web = world.containers["web"]
    assert client_for("operator").post(f"/api/containers/{web.engine_id}/stop/").status_code \
        == 202
    Container.objects.filter(pk=web.pk).update(state="exited")
    assert client_for("operator").post(f"/api/containers/{web.engine_id}/start/").status_code \
        == 202


def test_the_choice_is_a_function_others_can_call_with_needs_of_their_own(world, h3):
    """What a stack (or any other maker of containers) calls: its own needs leave hosts out."""
    chosen = placement.choose_host(world.user("developer"), world.teams["alpha"],
                                   memory=GiB, needs=[lambda host: host.name == "h3"
                                                      and "no volume data there"])
    assert chosen.host.name == "h1"
    assert chosen.reason.endswith("the only host that can take it; left out: h3 (no volume "
                                  "data there)")
    with pytest.raises(Invalid) as refused:
        placement.choose_host(world.user("developer"), world.teams["alpha"], memory=64 * GiB)
    assert "h1 (8.0 GiB free of 16.0 GiB, 64.0 GiB asked)" in refused.value.fields["host"][0]


def test_a_rule_about_hosts_goes_in_as_a_host_check(world, client_for, h3, monkeypatch):
    """Where a team's quota per host will plug in."""
    def quota(host, team, memory):
        return "team alpha's quota there is used up" if host.name == "h3" else None
    monkeypatch.setattr(placement, "HOST_CHECKS", placement.HOST_CHECKS + [quota])
    Host.objects.filter(name="h3").update(memory_available=64 * GiB)
    answer = run_any(client_for).json()
    assert answer["placement"].endswith("left out: h3 (team alpha's quota there is used up)")


def test_any_is_no_hosts_name(db):
    with pytest.raises(ValidationError):
        Host(name="any").full_clean()
    Host(name="anyhost").full_clean()


def test_the_run_form_offers_any_host(world, client_for, h3):
    client = client_for("developer")
    page = client.get("/containers/run/").content.decode()
    assert '<option value="any" selected>Any host (the one with the most free memory)</option>' \
        in page
    assert 'data-host="any"' in page
    response = client.post("/containers/run/", {"host": "any", "image": "busybox:latest",
                                                "name": "from-form", "restart": "no",
                                                "memory": "64m"})
    assert response.status_code == 302
    container = Container.objects.get(name="from-form")
    assert container.host.name in ("h1", "h3")
    shown = client.get(response["Location"]).content.decode()
    assert f"placed on {container.host.name}: " in shown
