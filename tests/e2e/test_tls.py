"""TLS between hosts and the console, end to end: a stack served over https only with Redis on
its TLS port only (`Stack(tls=True)`, as `./moorage up --tls` runs them, with a CA made for
the run), its own host's agent on https:// and rediss:// with the CA; another host joined with
`./moorage join https://... TOKEN --ca FILE` (over loopback, in a private instance) that runs a
container, a terminal and a log stream. A join with another CA is refused with a clear
message and leaves nothing behind; Redis refuses a plain connection and a certificate check
without the CA. And `./moorage up --tls` itself: the lab CA made once, https and rediss only,
what to copy printed."""
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
import redis

from console.agent.config import load
from console.hosts import tls as lab_ca
from tests.conftest import started_stack
from tests.e2e.test_moorage_script import (
    alive,
    machine_link,  # noqa: F401 (a fixture)
    moorage,
    pids,
    private_env,
)
from tests.stack import REPO, Api, wait_until
from tests.stream_client import LogsClient, TerminalClient, run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

@pytest.fixture(scope="module")
def stack():
    yield from started_stack("sqlite", tls=True)


def stop_instance(env):
    moorage(env, "down", check=False)
    for pid in pids(env).values():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    subprocess.run([os.path.join(REPO, "bin", "moor"), "--root", env["MOORAGE_ROOT"],
                    "system", "reset", "--force"], capture_output=True, check=False)


def join_token(stack, name) -> str:
    return stack.admin.ok("POST", "/api/hosts/join-tokens/", {
        "name": name, "teams": ["default"]})["token"]


def log_text(stack, container) -> str:
    request = urllib.request.Request(stack.base + f"/api/containers/{container}/logs/",
                                     headers={"Authorization": f"Token {stack.admin.token}"})
    with urllib.request.urlopen(request, timeout=20, context=stack.ssl_context) as response:
        return response.read().decode(errors="replace")


def test_the_consoles_own_host_runs_over_https_and_rediss(stack):
    key = load(stack.key_file("e2e"))
    assert key.console.startswith("https://") and key.redis.startswith("rediss://")
    assert key.ca == stack.ca_file
    assert stack.host("e2e")["state"] == "online"


def test_a_host_joined_over_https_with_its_ca_runs_terminals_and_logs(stack, tmp_path):
    env = private_env(tmp_path)
    name = f"tls{secrets.token_hex(2)}"
    token = join_token(stack, name)
    copied = tmp_path / "ca.pem"       # what the operator copied from the console
    copied.write_bytes(open(stack.ca_file, "rb").read())
    var = env["MOORAGE_VAR"]

    # Another CA first: refused before the token is sent, with a clear word and no key.
    other = tmp_path / "other"
    lab_ca.ensure(str(other), [])
    wrong = moorage(env, "join", stack.base, token, "--ca", str(other / "ca.pem"),
                    check=False)
    assert wrong.returncode != 0
    assert "Traceback" not in wrong.stderr
    assert f"the console's certificate at {stack.base} is not signed by the CA in " \
           f"{other / 'ca.pem'}" in wrong.stderr, wrong.stderr
    # Without --ca, the system's CAs do not know the lab CA either.
    untrusted = moorage(env, "join", stack.base, token, check=False)
    assert untrusted.returncode != 0 and "Traceback" not in untrusted.stderr
    assert "is not signed by the system's CAs" in untrusted.stderr, untrusted.stderr
    # Not a CA file at all.
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    bad = moorage(env, "join", stack.base, token, "--ca", str(garbage), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert f"--ca {garbage}: not a CA certificate file" in bad.stderr, bad.stderr
    assert not os.path.exists(os.path.join(var, "host.key"))
    assert not os.path.exists(os.path.join(var, "ca.pem"))
    assert stack.host(name) is None

    try:
        # The same token, with the console's CA: it was not spent by the refusals.
        moorage(env, "join", stack.base, token, "--ca", str(copied))
        key = load(os.path.join(var, "host.key"))
        assert key.ca == os.path.join(var, "ca.pem") and open(key.ca).read() == \
            copied.read_text()
        assert key.console == stack.base
        assert key.redis == f"rediss://127.0.0.1:{stack.redis_port}/0"   # the console said
        stack.wait_host_online(name, timeout=60)

        job = stack.admin.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": name, "name": f"tls-{secrets.token_hex(2)}",
            "team": "default", "cmd": ["sh", "-c", "echo hello over tls; exec sleep 600"]})
        assert job["state"] == "succeeded", job
        container = job["container"]

        async def scenario():
            terminal = await TerminalClient.open(stack.base, stack.admin.token, container,
                                                 ssl_context=stack.ssl_context)
            await terminal.send(b"echo done-$((6*7))\r")
            await terminal.expect(b"done-42")
            await terminal.close()
            logs = await LogsClient.open(stack.base, stack.admin.token, container,
                                         ssl_context=stack.ssl_context)
            await logs.start(type="follow", tail=None)
            await logs.until(lambda lines: any("hello over tls" in str(line[3])
                                               for line in lines))
            await logs.close()
        run(scenario())
        assert "hello over tls" in log_text(stack, container)
        stopped = stack.admin.ok("POST", f"/api/containers/{container}/stop/?wait=1",
                                 {"timeout": 1})
        assert stopped["state"] == "succeeded", stopped
        stack.admin.ok("DELETE", f"/api/containers/{container}/?force=1&wait=1")
    finally:
        stop_instance(env)


def test_redis_speaks_only_tls_with_a_certificate_the_ca_signed(stack):
    password = stack.redis_password
    plain = redis.Redis.from_url(f"redis://:{password}@127.0.0.1:{stack.redis_port}/0",
                                 socket_timeout=5, socket_connect_timeout=5)
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    unchecked = redis.Redis.from_url(f"rediss://:{password}@127.0.0.1:{stack.redis_port}/0",
                                     socket_timeout=5, ssl_cert_reqs="required")
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        unchecked.ping()
    # Another name than the certificate's: refused too, though the CA is right.
    with socket.create_connection(("127.0.0.1", stack.redis_port), timeout=5) as sock:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            stack.ssl_context.wrap_socket(sock, server_hostname="not-the-console.test")
    # The host's own user, as its worker connects (Celery's broker_use_ssl).
    key = load(stack.key_file("e2e"))
    with redis.Redis.from_url(key.redis_url(), socket_timeout=5,
                              **key.redis_ssl_options()) as mine:
        assert mine.ping()


@pytest.mark.usefixtures("machine_link")
def test_up_tls_makes_the_lab_ca_once_and_serves_https_and_rediss(tmp_path):
    env = private_env(tmp_path)
    env["MOORAGE_TLS_NAMES"] = "console.lab.test,10.99.0.1"
    env["MOORAGE_REDIS_BIND"] = "127.0.0.2"      # where other hosts would reach Redis
    var = env["MOORAGE_VAR"]
    ca = os.path.join(var, "tls", "ca.pem")
    port, redis_port = env["MOORAGE_PORT"], env["MOORAGE_REDIS_PORT"]
    try:
        out = moorage(env, "up", "--tls").stdout
        assert f"made {ca}" in out, out
        assert f"Moorage is up: https://console.lab.test:{port}/" in out, out
        assert f"copy {ca} to it" in out, out
        assert f"./moorage join https://console.lab.test:{port} TOKEN --ca ca.pem" in out, out
        made = lab_ca.certificate_names(lab_ca.x509.load_pem_x509_certificate(
            open(os.path.join(var, "tls", "server.pem"), "rb").read()))
        assert {"console.lab.test", "10.99.0.1", "127.0.0.2", "127.0.0.1", "localhost",
                socket.gethostname()} <= made
        first_ca = open(ca, "rb").read()
        context = ssl.create_default_context(cafile=ca)
        base = f"https://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/login/", timeout=10, context=context) as answer:
            assert answer.status == 200
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plain http
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10)
        with open(os.path.join(var, "env")) as handle:
            settings = handle.read()
        assert f"MOORAGE_AGENT_REDIS_URL=rediss://console.lab.test:{redis_port}/0" in settings
        password = open(os.path.join(var, "redis", "password")).read().strip()
        plain = redis.Redis(host="127.0.0.1", port=int(redis_port), password=password,
                            socket_timeout=5)
        with pytest.raises(redis.ConnectionError):
            plain.ping()
        # On the address of MOORAGE_REDIS_BIND too, with a certificate naming it.
        with redis.Redis(host="127.0.0.2", port=int(redis_port), password=password,
                         ssl=True, ssl_ca_certs=ca, ssl_cert_reqs="required",
                         socket_timeout=5) as far:
            assert far.ping()

        # The local host's agent: https and rediss with the lab CA, online.
        with open(os.path.join(var, "host.key")) as handle:
            key = json.load(handle)
        assert key["console"] == f"{base}" and key["ca"] == ca
        assert key["redis"] == f"rediss://127.0.0.1:{redis_port}/0"
        admin_password = out.split("password: ", 1)[1].split()[0]
        status, answer = Api(base, context=context).post(
            "/api/auth/token/", {"username": "admin", "password": admin_password})
        assert status in (200, 201), answer
        admin = Api(base, answer["token"], context=context)
        wait_until(lambda: admin.get("/api/hosts/")[1]["results"][0]["state"] == "online",
                   timeout=60, what="the local host online")

        # Again, without the option: the same CA, still TLS.
        moorage(env, "down")
        again = moorage(env, "up").stdout
        # (the certificate is made again only if the machine got an address meanwhile)
        assert f"made {ca}" not in again, again
        assert open(ca, "rb").read() == first_ca
        assert f"Moorage is up: https://console.lab.test:{port}/" in again
        with urllib.request.urlopen(base + "/login/", timeout=10, context=context) as answer:
            assert answer.status == 200
    finally:
        stop_instance(env)

