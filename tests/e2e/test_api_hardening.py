"""Through daphne, as any client sees it: the API's errors are JSON whoever raises them, bad
bodies are refused up front, and a viewer probing another team's container by prefix reads
nothing of it in their own audit entries, while the admin sees the probe as typed."""
import json
import secrets
import urllib.error
import urllib.request

import pytest

from tests.stack import Api

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def raw(stack, method, path, body: bytes | None = None, token=None):
    request = urllib.request.Request(stack.base + path, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Token {token or stack.admin.token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.parametrize("method, path, body, status", [
    ("POST", "/api/containers/",
     b'{"image": "busybox", "host": "e2e", "labels": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001,
     400),
    ("POST", "/api/containers/",
     json.dumps({"image": "busybox", "host": "e2e", "name": "x" * 10_000_000}).encode(), 413),
    ("POST", "/api/containers/", b'{"image": "busybox", "host": "e2e", "env": ["A=\\u0000"]}',
     400),
    ("GET", "/api/containers/?page_size=-1", None, 400),
    ("GET", "/api/no-such-thing/", None, 404),
    ("OPTIONS", "/api/containers/any/logs/", None, 405),
    ("POST", "/api/containers/any/logs/", b"{}", 403),     # CSRF: a plain view, not DRF
])
def test_errors_are_json(stack, method, path, body, status):
    answer_status, content_type, text = raw(stack, method, path, body)
    assert (answer_status, content_type) == (status, "application/json"), text[:200]
    assert json.loads(text)


def test_a_probing_viewer_reads_nothing_of_what_they_hit(stack):
    admin = stack.admin
    team = admin.ok("POST", "/api/teams/", {"name": "hidden-" + secrets.token_hex(3)})
    admin.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": "e2e"})
    job = admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "team": team["name"], "name": "vault-" + team["name"],
        "cmd": ["sleep", "300"]})
    assert job["state"] == "succeeded", job
    name, password = "probe" + secrets.token_hex(3), secrets.token_urlsafe(16)
    admin.ok("POST", "/api/users/", {"username": name, "password": password})
    default = next(t for t in admin.ok("GET", "/api/teams/")["results"]
                   if t["name"] == "default")
    admin.ok("POST", f"/api/teams/{default['id']}/members/", {"user": name, "role": "viewer"})
    status, answer = Api(stack.base).post("/api/auth/token/", {"username": name,
                                                                "password": password})
    viewer = Api(stack.base, answer["token"])
    try:
        for prefix in "0123456789abcdef":
            status, _ = viewer.post(f"/api/containers/{prefix}/stop/")
            assert status in (403, 404)
        status, _ = viewer.call("PATCH", f"/api/teams/{team['id']}/", {"description": "x"})
        assert status == 404
        seen = json.dumps(viewer.ok("GET", "/api/audit/?page_size=500"))
        assert team["name"] not in seen and job["container"][:12] not in seen
        assert f"/api/teams/{team['id']}/" in seen
        probes = admin.ok("GET", f"/api/audit/?user={name}&result=denied")["results"]
        assert {p["params"]["reference"] for p in probes} >= set("0123456789abcdef")
    finally:
        admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def test_failed_logins_lock_only_their_username_and_address(stack):
    """Ten failures for one username from this address refuse that pair, even with the right
    password; anyone else still logs in from the same address."""
    name, password = "guessed" + secrets.token_hex(3), secrets.token_urlsafe(16)
    stack.admin.ok("POST", "/api/users/", {"username": name, "password": password})
    anonymous = Api(stack.base)
    for _ in range(10):
        status, _ = anonymous.post("/api/auth/token/", {"username": name, "password": "wrong"})
        assert status == 401
    status, answer = anonymous.post("/api/auth/token/", {"username": name,
                                                         "password": password})
    assert status == 429 and "Too many failed attempts" in answer["detail"], answer
    status, answer = anonymous.post("/api/auth/token/", {"username": "admin",
                                                         "password": stack.admin_password})
    assert status == 201, answer


def test_limits_are_checked_before_the_engine_and_a_developer_is_capped(stack):
    admin = stack.admin
    for change in ({"pids_limit": 2 ** 70}, {"memory": 2 ** 70}, {"cpus": 0.001}):
        status, answer = admin.post("/api/containers/", {"image": "busybox", "host": "e2e",
                                                         **change})
        assert status == 400 and list(answer) == list(change), answer
    name, password = "capped" + secrets.token_hex(3), secrets.token_urlsafe(16)
    admin.ok("POST", "/api/users/", {"username": name, "password": password})
    default = next(t for t in admin.ok("GET", "/api/teams/")["results"]
                   if t["name"] == "default")
    admin.ok("POST", f"/api/teams/{default['id']}/members/", {"user": name,
                                                              "role": "developer"})
    status, answer = Api(stack.base).post("/api/auth/token/", {"username": name,
                                                                "password": password})
    developer = Api(stack.base, answer["token"])
    status, answer = developer.post("/api/containers/", {"image": "busybox", "host": "e2e",
                                                         "pids_limit": -1})
    assert status == 400 and "at most 4096" in answer["pids_limit"][0], answer
    job = developer.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name, "cmd": ["sleep", "60"]})
    try:
        assert job["state"] == "succeeded", job
        inspect = developer.ok("GET", f"/api/containers/{job['container']}/inspect/")
        assert inspect["HostConfig"]["PidsLimit"] == 4096
    finally:
        admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")
