"""Limits and text in a run request are checked up front, so that nothing reaches the engine
only to fail there: a PIDs limit is capped for everyone but superusers (MOORAGE_MAX_PIDS, also
the default when none is asked for), numbers that overflow what the kernel takes are a 400,
and NUL or control characters in names, commands, environment, workdir or user are refused
beside their field."""
import pytest

from console.containers.models import Container
from console.jobs.models import Job


def run(client, **body):
    body.setdefault("image", "busybox")
    body.setdefault("host", "h1")
    return client.post("/api/containers/", body, content_type="application/json")


def run_raw(client, json_text):
    return client.post("/api/containers/", json_text, content_type="application/json")


def nothing_created():
    return Container.objects.count() == 2 and not Job.objects.exists()


def created_options():
    return Container.objects.exclude(name__in=("web", "other")).get().options


@pytest.fixture(autouse=True)
def max_pids(settings):
    settings.MAX_PIDS = 4096


@pytest.mark.parametrize("pids", [-1, 4097, 2 ** 70])
def test_a_developer_cannot_lift_the_pids_cap(world, client_for, pids):
    response = run(client_for("developer"), pids_limit=pids)
    assert response.status_code == 400, response.content
    assert "at most 4096" in response.json()["pids_limit"][0]
    assert nothing_created()


def test_a_developer_gets_the_cap_when_asking_for_none(world, client_for):
    assert run(client_for("developer")).status_code == 202
    assert created_options()["pids_limit"] == 4096


def test_a_developer_may_ask_for_less(world, client_for):
    assert run(client_for("developer"), pids_limit=100).status_code == 202
    assert created_options()["pids_limit"] == 100


def test_a_superuser_may_have_no_limit(world, client_for):
    assert run(client_for("superuser"), pids_limit=-1).status_code == 202
    assert created_options()["pids_limit"] == -1


def test_no_cap_when_the_setting_is_zero(world, client_for, settings):
    settings.MAX_PIDS = 0
    assert run(client_for("developer"), pids_limit=-1).status_code == 202
    assert created_options()["pids_limit"] == -1


@pytest.mark.parametrize("persona", ["developer", "superuser"])
@pytest.mark.parametrize("json_text, field", [
    ('{"pids_limit": %d}' % 2 ** 70, "pids_limit"),
    ('{"pids_limit": 1e400}', "pids_limit"),
    ('{"pids_limit": 12.5}', "pids_limit"),
    ('{"memory": %d}' % 2 ** 70, "memory"),
    ('{"memory": "99999999999999999999999g"}', "memory"),
    ('{"cpus": 1e400}', "cpus"),
    ('{"cpus": 1e300}', "cpus"),
    ('{"cpus": "nan"}', "cpus"),
    ('{"cpus": 0.001}', "cpus"),
])
def test_numbers_the_kernel_cannot_take_are_a_400(world, client_for, settings, persona,
                                                  json_text, field):
    # A host whose size is not known yet: only the kernel's own bounds apply.
    world.hosts["h1"].memory = world.hosts["h1"].cpus = 0
    world.hosts["h1"].save()
    body = json_text[:-1] + ', "image": "busybox", "host": "h1"}'
    response = run_raw(client_for(persona), body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert nothing_created()


@pytest.mark.parametrize("body, field", [
    ({"env": ["A=b\x00c"]}, "env"),
    ({"env": ["A\n=b"]}, "env"),
    ({"env": {"A": "b\x00"}}, "env"),
    ({"cmd": ["sh", "-c", "echo \x00"]}, "cmd"),
    ({"cmd": "sleep \x00 1"}, "cmd"),
    ({"entrypoint": ["/bin/sh\x00"]}, "entrypoint"),
    ({"workdir": "/srv\x00"}, "workdir"),
    ({"workdir": "/srv\n/x"}, "workdir"),
    ({"workdir": "relative/dir"}, "workdir"),
    ({"user": "root\n"}, "user"),
    ({"user": "root\x00"}, "user"),
    ({"user": "ro ot"}, "user"),
    ({"name": "web\x00"}, "name"),
    ({"name": "web\x1b[31m"}, "name"),
    ({"image": "busybox\x00"}, "image"),
    ({"image": "busy\x1bbox"}, "image"),
    ({"image": ["busybox"]}, "image"),
    ({"restart": "always\n"}, "restart"),
])
def test_nul_and_control_characters_are_refused_beside_their_field(world, client_for, body,
                                                                   field):
    response = run(client_for("developer"), **body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert nothing_created()


def test_what_programs_may_take_still_passes(world, client_for):
    """Newlines and tabs are ordinary in a shell script or an environment value."""
    response = run(client_for("developer"), cmd=["sh", "-c", "echo a\n\techo b"],
                   env=["CERT=line1\nline2"], workdir="/srv", user="1000:1000")
    assert response.status_code == 202, response.content

