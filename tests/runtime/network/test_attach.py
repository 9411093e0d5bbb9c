"""attach/detach for each mode: what the container gets, what inspect shows, what is undone."""

import os
import subprocess

import pytest

from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.network import detach, endpoints, hostfiles, network_settings

from .conftest import BUSYBOX

pytestmark = pytest.mark.privileged


def _inside(box, *command) -> str:
    return subprocess.run(["nsenter", f"--net={box.attachment.netns}", BUSYBOX, *command],
                          capture_output=True, text=True, check=True).stdout


def test_bridge_gives_an_interface_an_address_and_a_default_route(paths, sandbox):
    box = sandbox(paths)
    settings = box.settings
    assert settings["IPPrefixLen"] in (16, 20)  # a /16 of 172.17-31, or a /20 of 192.168
    assert settings["MacAddress"] == "02:42:" + ":".join(
        f"{int(part):02x}" for part in settings["IPAddress"].split("."))
    addresses = _inside(box, "ip", "-o", "addr", "show", "dev", "eth0")
    assert f"inet {settings['IPAddress']}/{settings['IPPrefixLen']}" in addresses
    assert _inside(box, "ip", "route").startswith(f"default via {settings['Gateway']} dev eth0")
    assert "LOOPBACK,UP" in _inside(box, "ip", "link", "show", "lo")
    assert os.path.exists(f"/sys/class/net/mrg{box.id[:12]}")
    assert open(f"/sys/class/net/mrg{box.id[:12]}/brport/hairpin_mode").read().strip() == "1"


def test_bridge_settings_have_dockers_shape(paths, sandbox):
    box = sandbox(paths, ports=["80"], exposed=["80/tcp", "443/tcp"])
    settings = box.settings
    network = settings["Networks"]["bridge"]
    assert network["IPAddress"] == settings["IPAddress"]
    assert network["Gateway"] == settings["Gateway"]
    assert network["MacAddress"] == settings["MacAddress"]
    assert len(network["NetworkID"]) == 64 and len(network["EndpointID"]) == 64
    assert settings["SandboxKey"] == box.attachment.netns
    assert settings["Ports"]["443/tcp"] is None
    assert settings["Ports"]["80/tcp"][0]["HostIp"] == "0.0.0.0"
    assert network_settings(paths, box.id) == settings


def test_bridge_files(paths, sandbox):
    box = sandbox(paths, name="files")
    assert box.file("hosts") == hostfiles.LOCALHOST_LINES + f"{box.address}\t{box.id[:12]} files\n"
    assert box.file("resolv.conf") == hostfiles.resolv_conf_text()
    assert "nameserver 127." not in box.file("resolv.conf")


def test_none_mode_has_no_namespace_of_ours_and_only_localhost(paths, sandbox):
    box = sandbox(paths, mode="none")
    assert box.attachment.netns is None and box.attachment.share_host is False
    assert box.file("hosts") == hostfiles.LOCALHOST_LINES
    assert list(box.settings["Networks"]) == ["none"]
    assert box.settings["IPAddress"] == "" and box.settings["Ports"] == {}


def test_host_mode_shares_the_hosts_files(paths, sandbox):
    box = sandbox(paths, mode="host", ports=["8080:80"])
    assert box.attachment.share_host is True and box.attachment.netns is None
    assert box.file("hosts") == open("/etc/hosts").read()
    assert box.file("resolv.conf") == open("/etc/resolv.conf").read()
    assert list(box.settings["Networks"]) == ["host"]
    assert box.settings["Ports"] == {}  # published ports mean nothing on the host's network


def test_container_mode_joins_the_peers_namespace_and_files(paths, sandbox):
    peer = sandbox(paths, name="peer")
    follower = sandbox(paths, mode=f"container:{peer.id}", peer_netns=None)
    assert follower.attachment.netns == peer.attachment.netns
    assert follower.file("hosts") == peer.file("hosts")
    assert follower.settings["Networks"] == {}


def test_container_mode_refuses_published_ports(paths, sandbox):
    peer = sandbox(paths)
    box = sandbox(paths, attached=False, mode=f"container:{peer.id}", ports=["80"])
    with pytest.raises(InvalidArgument, match="conflicting options"):
        box.attach()


def test_container_mode_needs_a_running_peer(paths, sandbox):
    box = sandbox(paths, attached=False, mode=f"container:{'a' * 64}")
    with pytest.raises(Conflict, match="not running"):
        box.attach()


def test_unknown_network_is_a_clear_error_and_leaves_nothing(paths, sandbox):
    box = sandbox(paths, attached=False, mode="nosuchnet")
    with pytest.raises(NotFound, match="network nosuchnet not found"):
        box.attach()
    assert endpoints.load(paths, box.id) is None


def test_bad_port_spec_is_refused_before_anything_is_made(paths, sandbox):
    box = sandbox(paths, attached=False, ports=["80/sctp"])
    with pytest.raises(InvalidArgument):
        box.attach()
    assert endpoints.load(paths, box.id) is None


def test_detach_is_idempotent(paths, sandbox):
    box = sandbox(paths, ports=["80"])
    detach(paths, box.id)
    detach(paths, box.id)
    assert not os.path.exists(f"/sys/class/net/mrg{box.id[:12]}")
    assert not os.path.exists(box.attachment.netns)
    detach(paths, "b" * 64)  # never attached


def test_attaching_again_replaces_a_stale_attachment(paths, sandbox):
    box = sandbox(paths)
    first = box.address
    box.attach()  # e.g. a restart after the exit command never ran
    assert os.path.exists(box.attachment.netns)
    assert box.address != first
    assert len(endpoints.load(paths, box.id)["endpoints"]) == 1


def test_a_bad_container_id_is_refused(paths):
    with pytest.raises(InvalidArgument, match="64 hex digits"):
        detach(paths, "../../etc")
