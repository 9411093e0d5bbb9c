"""Networking end to end: real containers made by `moor run` with crun and with runc.

Traffic goes only to loopback and to these containers' addresses on the engine's bridges.
The engine fixtures (`engine`, `moor`, `runtime_name`) come from tests/runtime/conftest.py;
after each test they fail it if a veth, netns, mount or cgroup was left behind.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.stack import wait_until

from .conftest import free_port, host_rules, http_get, leftovers

pytestmark = pytest.mark.privileged


@pytest.fixture
def network(moor):
    made = []

    def make(name):
        moor("network", "create", name, check=True)
        made.append(name)
        return name

    yield make
    for name in made:
        for container in moor("ps", "-a", "-q", "--no-trunc").stdout.split():
            moor("rm", "-f", container)
        moor("network", "rm", name, check=True)


def _start(moor, runtime_name, *args) -> str:
    return moor("run", "-d", "--runtime", runtime_name, *args, check=True).stdout.strip()


def _httpd(moor, runtime_name, *args, name) -> str:
    """A busybox httpd container answering its name; ready when this returns."""
    container_id = _start(moor, runtime_name, "--name", name, *args, "busybox", "sh", "-c",
                          f"mkdir /www && echo {name} > /www/index.html && "
                          f"exec httpd -f -p 80 -h /www")
    address = _address(moor, name)
    wait_until(lambda: not address or http_get(address, 80, timeout=1) == f"{name}\n",
               timeout=10, interval=0.05, what=f"httpd in {name} to answer")
    return container_id


def _address(moor, name) -> str:
    return moor("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name,
                check=True).stdout.strip()


def _fetch(moor, runtime_name, *args, url) -> subprocess.CompletedProcess:
    # Not `timeout` as the container's PID 1: busybox's timeout execs the program in its own
    # process, and PID 1 of a namespace ignores the SIGKILL meant to end it.
    return moor("run", "--rm", "--runtime", runtime_name, *args, "busybox", "sh", "-c",
                f"timeout -s KILL 3 wget -q -O - {url}; exit $?")


def test_bridge_is_the_default_and_containers_reach_each_other_by_ip(engine, moor,
                                                                     runtime_name):
    _httpd(moor, runtime_name, name="bridged")
    settings = engine.inspect("bridged")["NetworkSettings"]
    assert list(settings["Networks"]) == ["bridge"]
    fetched = _fetch(moor, runtime_name, url=f"http://{settings['IPAddress']}/")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == "bridged\n"


def test_a_user_network_resolves_names_and_isolates_from_others(engine, moor, runtime_name,
                                                                network):
    front, back = network("front"), network("back")
    _httpd(moor, runtime_name, "--network", front, name="shop")
    fetched = _fetch(moor, runtime_name, "--network", front, url="http://shop/")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == "shop\n"
    address = _address(moor, "shop")
    assert _fetch(moor, runtime_name, "--network", back,
                  url=f"http://{address}/").returncode != 0
    assert _fetch(moor, runtime_name, url=f"http://{address}/").returncode != 0


def test_a_renamed_container_is_found_by_its_new_name(engine, moor, runtime_name, network):
    front = network("front")
    _httpd(moor, runtime_name, "--network", front, name="before")
    peer = moor("run", "-d", "--runtime", runtime_name, "--network", front, "--name", "peer",
                "busybox", "sleep", "60", check=True).stdout.strip()
    moor("rename", "before", "after", check=True)
    fetched = _fetch(moor, runtime_name, "--network", front, url="http://after/")
    assert (fetched.returncode, fetched.stdout) == (0, "before\n"), fetched.stderr
    hosts = moor("exec", peer, "cat", "/etc/hosts", check=True).stdout
    names = {name for line in hosts.splitlines() for name in line.split()[1:]}
    assert "after" in names and "before" not in names, hosts


def test_removing_neighbours_together_leaves_nothing(engine, moor, network):
    """Each removal rewrites the others' hosts files while they are being removed too."""
    front = network("front")
    names = [f"neighbour{i}" for i in range(3)]
    for name in names:
        moor("run", "-d", "--network", front, "--name", name, "busybox", "sleep", "60",
             check=True)
    moor("rm", "-f", *names, check=True)
    # the engine fixture fails the test if any removal was left half done


def test_published_port_answers_on_loopback_and_the_bridge_address(engine, moor,
                                                                   runtime_name):
    port = free_port()
    _httpd(moor, runtime_name, "-p", f"{port}:80", name="published")
    gateway = engine.inspect("published")["NetworkSettings"]["Gateway"]
    assert http_get("127.0.0.1", port) == "published\n"
    assert http_get(gateway, port) == "published\n"
    assert moor("port", "published", check=True).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp" in moor("ps", check=True).stdout


def test_a_port_without_host_port_is_reported_by_moor_port(engine, moor, runtime_name):
    _httpd(moor, runtime_name, "-p", "80", name="randomport")
    [binding] = moor("port", "randomport", "80", check=True).stdout.split()
    host, port = binding.rsplit(":", 1)
    assert host == "0.0.0.0"
    assert http_get("127.0.0.1", int(port)) == "randomport\n"


def test_a_taken_port_fails_before_the_container_starts(engine, moor, runtime_name):
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = moor("run", "-d", "--runtime", runtime_name, "--name", "blocked", "-p",
                      f"{port}:80", "busybox", "sleep", "60")
    assert result.returncode == 125
    assert result.stderr == (f"Error: Bind for 0.0.0.0:{port} failed: port is already in use "
                             f"on the host\n")
    assert not [line for line in host_rules(engine.paths) if ":ctr:" in line]


def test_a_container_cannot_reach_the_hosts_redis_through_its_gateway(engine, moor,
                                                                    runtime_name):
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "0.0.0.0",
                              "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def listening():
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        wait_until(listening, timeout=5, interval=0.05, what="redis-server to listen")
        gateway = engine.inspect(_start(moor, runtime_name, "busybox", "sleep", "30"))[
            "NetworkSettings"]["Gateway"]
        answer = moor("run", "--rm", "--runtime", runtime_name, "busybox", "sh", "-c",
                      f"printf 'PING\\r\\n' | nc -w 2 {gateway} {port}")
        assert "PONG" not in answer.stdout
        assert "PONG" in subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                        capture_output=True, text=True).stdout
    finally:
        redis.kill()
        redis.wait()


def test_none_host_and_container_modes(engine, moor, runtime_name):
    links = moor("run", "--rm", "--runtime", runtime_name, "--network", "none", "busybox",
                 "ip", "-o", "link", check=True).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    host = moor("run", "--rm", "--runtime", runtime_name, "--network", "host", "busybox",
                "cat", "/sys/class/net/lo/ifindex", check=True).stdout
    assert host.strip() == "1"
    assert "eth0" in moor("run", "--rm", "--runtime", runtime_name, "--network", "host",
                          "busybox", "ls", "/sys/class/net", check=True).stdout
    _httpd(moor, runtime_name, name="sharer")
    fetched = _fetch(moor, runtime_name, "--network", "container:sharer",
                     url="http://127.0.0.1/")
    assert fetched.returncode == 0 and fetched.stdout == "sharer\n"


def test_fifty_containers_run_and_removed_leave_nothing(engine, moor):
    for number in range(50):
        container_id = engine.run({"image": "busybox", "cmd": ["true"],
                                   "ports": ["80"] if number % 10 == 0 else []})
        engine.wait(container_id)
        engine.remove(container_id)
    assert leftovers(engine.paths) == []
    assert not [line for line in host_rules(engine.paths) if ":ctr:" in line]


def test_a_worker_killed_mid_start_leaves_nothing_after_system_gc(engine, moor):
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    environment = {**os.environ, "MOORAGE_ROOT": engine.paths.root}
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3):
        container_id = moor("create", "-p", "80", "busybox", "sleep", "60",
                            check=True).stdout.strip()
        starter = subprocess.Popen([sys.executable, "-m", "runtime", "start", container_id],
                                   cwd=repository, env=environment,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        starter.send_signal(signal.SIGKILL)
        starter.wait()
    moor("system", "gc", check=True)
    for container in moor("ps", "-a", "-q", "--no-trunc").stdout.split():
        moor("rm", "-f", container, check=True)
    moor("system", "gc", check=True)
    assert leftovers(engine.paths) == []
    assert not [line for line in host_rules(engine.paths) if ":ctr:" in line]
