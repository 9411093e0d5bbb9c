"""Bad stacks get a clear error beside their field (the file's with its line), never a 500,
and nothing is made: YAML bombs, files too large, unknown dependencies, cycles, two services
on one port, another team's volume, and what hands a container the host (refused to anyone
but a superuser, and audited)."""
import pytest

from console.audit.models import AuditEntry
from console.volumes.models import Volume
from tests.console.stacks.helpers import FILE, nothing_made, post

BOMB = """x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
services:
  web:
    image: busybox
    labels: *f
"""


def service(extra: str, name: str = "web") -> str:
    return f"services:\n  {name}:\n    image: busybox\n{extra}"


@pytest.mark.parametrize("text, words", [
    (BOMB, "line 6: the document expands to more than 250000 values"),
    ("services:\n  web:\n    image: busybox\n    depends_on: [nosuch]\n",
     "compose.yaml, line 4: services.web.depends_on.nosuch: service web depends on undefined "
     "service nosuch"),
    ("services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n"
     "    depends_on: [a]\n", "dependency cycle: a -> b -> a"),
    ("services:\n  a:\n    image: busybox\n    ports: ['8080:80']\n  b:\n    image: busybox\n"
     "    ports: ['8080:81']\n",
     "line 7: services.b.ports.0: services a and b both publish port 8080/tcp"),
    ("services:\n  web:\n    image: busybox\n    imagee: x\n",
     "compose.yaml, line 4: services.web.imagee: not a key the Compose Specification"),
    ("services: [\n", "compose.yaml, line 2:"),
    ("services:\n  web:\n    image: nosuch:1\n",
     "line 3: services.web.image: no such image: nosuch:1 (on host h1): pull it first."),
    (service("    ports: ['127.0.0.1:8080:80']\n"), "line 4: services.web.ports: "
     "127.0.0.1:8080:80/tcp: publishing on 127.0.0.1, the host's loopback, is not allowed"),
    (service("    ports: ['80:80']\n"), "host port 80 is not allowed"),
    (service("    mem_limit: 3g\n"), "mem_limit: Host h1 has only 2.0 GiB of memory."),
    (service("    pids_limit: 100000\n"), "pids_limit: The PIDs limit must be a whole number of "
                                            "at least 1 and at most 4096"),
    (service("    container_name: web\n"), "line 4: services.web.container_name: the container "
                                             "name web is in use on host h1."),
    (service("    labels: {moorage.team: beta}\n"), "the label moorage.team is set by the "
                                                    "console."),
    (service("    volumes: ['data:/srv']\nvolumes:\n  data:\n    external: true\n"
             "    name: theirs\n"), "line 6: volumes.data: no such volume: theirs (on host h1)."),
    (service("    volumes: ['data:/srv']\nvolumes:\n  data:\n    name: theirs\n"),
     "volumes.data: the volume name theirs is taken on host h1: name the volume otherwise."),
    (service("    volumes: ['data:/srv']\nvolumes:\n  data: {}\n", name="web") + "",
     "the volume name shop_data is taken on host h1"),
    (service("    networks: [outside]\nnetworks:\n  outside:\n    external: true\n"
             "    name: team-999999\n"), "no such network: team-999999."),
])
def test_a_bad_file_is_refused_with_its_line(world, client_for, text, words):
    Volume.objects.create(host=world.hosts["h1"], name="theirs", team=world.teams["beta"])
    Volume.objects.create(host=world.hosts["h1"], name="shop_data", team=world.teams["beta"],
                          project="shop")
    response = post(client_for("developer"), compose=text)
    assert response.status_code == 400, response.content
    assert any(words in problem for problem in response.json()["compose"]), response.json()
    assert nothing_made()


@pytest.mark.parametrize("extra, key", [
    ("    privileged: true\n", "services.web.privileged"),
    ("    cap_add: [SYS_ADMIN]\n", "services.web.cap_add"),
    ("    network_mode: host\n", "services.web.network_mode"),
    ("    pid: host\n", "services.web.pid"),
    ("    devices: ['/dev/sda:/dev/sda']\n", "services.web.devices"),
    ("    volumes: ['/etc:/host-etc:ro']\n", "services.web.volumes.0"),
    ("    volumes: ['./data:/srv']\n", "services.web.volumes.0"),
    ("    env_file: /etc/shadow\n", "services.web.env_file"),
    ("    build: /\n", "services.web.build"),
    ("    networks: [hostnet]\nnetworks:\n  hostnet:\n    external: true\n    name: host\n",
     "networks.hostnet"),
])
def test_what_hands_over_the_host_is_refused_and_audited(world, client_for, extra, key):
    response = post(client_for("developer"), compose=service(extra))
    assert response.status_code == 403, response.content
    problem = response.json()["compose"][0]
    assert key in problem and "only a superuser" in problem and "compose.yaml, line" in problem
    assert nothing_made()
    entry = AuditEntry.objects.get(action="stack.create")
    assert (entry.result, entry.actor_name, entry.target_name) == ("denied", "developer", "shop")


def test_a_superuser_may_bind_the_host_and_read_its_files(world, client_for):
    text = service("    volumes: ['/srv:/srv:ro']\n    env_file: /etc/hostname\n")
    response = post(client_for("superuser"), compose=text, team="alpha")
    assert response.status_code == 202, response.content


def test_privileged_is_not_run_even_for_a_superuser(world, client_for):
    response = post(client_for("superuser"), compose=service("    privileged: true\n"))
    assert response.status_code == 400
    assert "Moorage does not support this key" in response.json()["compose"][0]


def test_a_file_larger_than_a_stacks_is_refused_unread(world, client_for, settings):
    big = FILE + "# " + "x" * settings.STACK_FILE_MAX_BYTES + "\n"
    response = post(client_for("developer"), compose=big)
    assert response.status_code == 400
    assert "larger than the 524288 a stack's may be" in response.json()["compose"][0]
    assert nothing_made()


def test_a_ten_megabyte_request_is_413(world, client_for):
    response = post(client_for("developer"), compose="#" * (10 << 20))
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert nothing_made()


@pytest.mark.parametrize("body, field, words", [
    ({"name": "Bad Name"}, "name", "lowercase letters"),
    ({"name": "web", "compose": 5}, "compose", "Must be text"),
    ({"env": "DB_PASSWORD=x\nnot a variable\n"}, "env", ".env, line 2: expected KEY=value"),
    ({"compose": ""}, "compose", "This field is required"),
    ({"message": "a\x07b"}, "message", "no other control characters"),
    ({"privileged": True}, "privileged", "Unknown field"),
    ({"host": "h2"}, "host", "No such host: h2"),
    ({"team": "beta"}, "team", "No team 'beta'"),
])
def test_bad_fields_are_said_beside_them(world, client_for, body, field, words):
    response = post(client_for("developer"), **body)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert nothing_made()


def test_a_name_in_use_on_the_host_is_refused(world, client_for):
    assert post(client_for("developer")).status_code == 202
    response = post(client_for("team_admin"))
    assert response.status_code == 400
    assert response.json()["name"] == ["The name 'shop' is already in use on host h1."]


def test_a_form_body_is_refused(world, client_for):
    response = client_for("developer").post("/api/stacks/", {"name": "shop"})
    assert response.status_code == 415 and nothing_made()


@pytest.mark.parametrize("persona, status", [("viewer", 403), ("operator", 403),
                                             ("stranger", 400), ("anonymous", 401)])
def test_creating_needs_the_developer_role(world, client_for, persona, status):
    response = post(client_for(persona), team="alpha")
    assert response.status_code == status
    assert nothing_made()
