"""Published ports in run requests: read with the engine's grammar; anyone but a superuser
publishes only on the addresses and ports the console allows (MOORAGE_PUBLISH_ADDRESSES,
MOORAGE_PUBLISH_PORTS; by default every address but loopback, ports from 1024), never on the
host's loopback unless it is listed, and a port without an address leaves loopback out.
Refusals are clear 400s that create nothing."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from console.containers.models import Container
from console.containers.publishing import parse_rules
from console.hostapi.specs import create_options
from console.jobs.models import Job
from runtime.container import options as engine_options


def run(client, ports, **body):
    body.setdefault("image", "busybox")
    body.setdefault("host", "h1")
    body.setdefault("cmd", ["httpd", "-f"])
    return client.post("/api/containers/", {"ports": ports, **body},
                       content_type="application/json")


def nothing_created():
    return Container.objects.count() == 2 and not Job.objects.exists()


def made(response) -> Container:
    assert response.status_code == 202, response.content
    return Container.objects.get(engine_id=response.json()["container"])


@pytest.mark.parametrize("ports", [["8080:80"], ["0.0.0.0:8080:80"], ["80"], ["1024:80/udp"],
                                   "8080:80, 9090:90/udp", ["10.1.2.3:65535:80"],
                                   ["8000-8002:80-82"]])
def test_a_developer_publishes_on_the_hosts_addresses(world, client_for, ports):
    container = made(run(client_for("developer"), ports))
    assert container.options["publish_loopback"] is False
    assert container.options["ports"] == (ports if isinstance(ports, list)
                                          else ["8080:80", "9090:90/udp"])
    # the engine takes what the console asks for, and publishes nothing on loopback
    host_config = engine_options.build(create_options(container), {"config": {}})[1]
    assert host_config["PublishLoopback"] is False


@pytest.mark.parametrize("ports, words", [
    (["127.0.0.1:8080:80"], "127.0.0.1:8080:80: publishing on 127.0.0.1, the host's loopback, "
                            "is not allowed (allowed: every address but loopback)."),
    (["127.0.0.53:8080:80"], "the host's loopback, is not allowed"),
    (["127.0.0.1::80"], "the host's loopback, is not allowed"),
    (["80:80"], "80:80: host port 80 is not allowed (allowed: 1024-65535)."),
    (["1000-1030:80-110"], "host port 1000 is not allowed"),
    (["8080:80", "22:22"], "22:22: host port 22 is not allowed"),
])
def test_loopback_and_privileged_ports_are_refused(world, client_for, ports, words):
    response = run(client_for("developer"), ports)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["ports"])
    assert nothing_created()


@pytest.mark.parametrize("ports, words", [
    (["http"], 'invalid container port "http" in "http". Ports are [IP:]HOSTPORT:CONTAINERPORT'),
    (["8080:80:90:1"], "invalid port specification"),
    (["1-2:80"], "the host and container port ranges differ in length"),
    (["8080:80", "8080:81"], "host port 0.0.0.0:8080/tcp is published twice"),
    (["8080:80/sctp"], 'invalid protocol "sctp"'),
    (["[::1]:8080:80"], "IPv6 host addresses are not supported"),
    (["300.1.1.1:8080:80"], 'invalid host address "300.1.1.1"'),
    ([80], "Ports are [IP:]HOSTPORT:CONTAINERPORT"),
    ({"8080": 80}, "Ports are [IP:]HOSTPORT:CONTAINERPORT"),
])
def test_bad_specs_get_the_engines_reason(world, client_for, ports, words):
    for persona in ("developer", "superuser"):
        response = run(client_for(persona), ports)
        assert response.status_code == 400, response.content
        assert words in " ".join(response.json()["ports"])
    assert nothing_created()


def test_a_superuser_publishes_anywhere_as_moor_does(world, client_for):
    container = made(run(client_for("superuser"), ["127.0.0.1:80:80", "8080:8080"]))
    assert container.options == {"ports": ["127.0.0.1:80:80", "8080:8080"]}
    host_config = engine_options.build(create_options(container), {"config": {}})[1]
    assert host_config["PublishLoopback"] is True


def test_the_console_may_list_addresses_and_ports(world, client_for, settings):
    settings.PUBLISH_ADDRESSES = "10.1.2.3, 192.168.7.0/24"
    settings.PUBLISH_PORTS = "8000-8999,9443"
    client = client_for("developer")
    for ports in (["10.1.2.3:8080:80"], ["192.168.7.9:9443:443"]):
        made(run(client, ports))
    refusals = {
        "8080:80": "give the address to publish on (allowed: 10.1.2.3, 192.168.7.0/24), e.g. "
                   "10.1.2.3:8080:80",
        "10.9.9.9:8080:80": "publishing on 10.9.9.9 is not allowed (allowed: 10.1.2.3, "
                            "192.168.7.0/24)",
        "10.1.2.3:9000:80": "host port 9000 is not allowed (allowed: 8000-8999, 9443)",
        "10.1.2.3::80": "give the host port (allowed: 8000-8999, 9443)",
    }
    for spec, words in refusals.items():
        response = run(client, [spec])
        assert response.status_code == 400
        assert response.json()["ports"] == [f"{spec}: {words}."]


def test_loopback_only_when_listed(world, client_for, settings):
    settings.PUBLISH_ADDRESSES = "*,127.0.0.1"
    container = made(run(client_for("developer"), ["127.0.0.1:8080:80", "9090:90"]))
    assert container.options["publish_loopback"] is False     # 9090 stays off loopback
    response = run(client_for("developer"), ["127.0.0.2:8081:80"])
    assert response.status_code == 400 and "the host's loopback" in response.json()["ports"][0]


def test_the_run_form_says_where_one_may_publish_and_why_not(world, client_for):
    client = client_for("developer")
    form = client.get("/containers/run/").content.decode()
    assert "on every address but loopback, host ports 1024-65535" in form
    page = client.post("/containers/run/", {"host": "h1", "image": "busybox:latest",
                                            "restart": "no", "ports": "127.0.0.1:8080:80"})
    assert page.status_code == 200
    assert "the host&#x27;s loopback, is not allowed" in page.content.decode()
    assert nothing_created()


@pytest.mark.parametrize("addresses, ports, words", [
    ("", "1024-65535", "MOORAGE_PUBLISH_ADDRESSES allows no address"),
    ("10.0.0.300", "1024-65535", "'10.0.0.300' is neither an IPv4 address"),
    ("*", "", "MOORAGE_PUBLISH_PORTS allows no port"),
    ("*", "9000-8000", "'9000-8000' is not a port or a range"),
    ("*", "0", "'0' is not a port"),
    ("*", "http", "'http' is not a port"),
])
def test_a_wrong_setting_is_named(addresses, ports, words):
    with pytest.raises(ImproperlyConfigured, match=words):
        parse_rules(addresses, ports)


def test_picked_ports_need_every_port_from_1024():
    assert parse_rules("*", "1024-65535").allows_picked_ports()
    assert parse_rules("*", "1-2000,2001-65535").allows_picked_ports()
    assert not parse_rules("*", "1024-60000").allows_picked_ports()
    assert not parse_rules("*", "2000-65535").allows_picked_ports()
