"""What the engine service does with bad input and bad clients: clear JSON errors with
Docker's status codes, nothing left behind, and it keeps serving everyone else."""

import http.client
import io
import json
import os
import socket
import tarfile

import pytest

from tests.stack import wait_until

pytestmark = pytest.mark.privileged


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


@pytest.fixture
def api(service, engine):
    def call(method, path, body=None, headers=None, raw=False):
        connection = UnixConnection(service.socket_path)
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers={
            "Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        if raw:
            return response.status, payload
        return response.status, json.loads(payload) if payload.strip() else None
    return call


def test_malformed_json_is_a_400(api):
    status, answer = api("POST", "/v1.41/containers/create", b'{"Image": "busybox",')
    assert status == 400 and answer["message"].startswith("invalid JSON")


def test_unknown_and_unsupported_fields_are_named(api, engine):
    status, answer = api("POST", "/containers/create", {"Image": "busybox", "Bogus": 1})
    assert (status, answer["message"]) == (400, "unknown field Config.Bogus")
    status, answer = api("POST", "/containers/create", {
        "Image": "busybox", "HostConfig": {"DeviceCgroupRules": ["c 1:3 rwm"]}})
    assert status == 400 and "HostConfig.DeviceCgroupRules is not supported" in \
        answer["message"]
    status, answer = api("POST", "/containers/create", {"Image": "busybox",
                                                        "Cmd": "not a list"})
    assert status == 201        # Docker takes a string command too
    api("DELETE", f"/containers/{answer['Id']}")
    status, answer = api("POST", "/containers/create", {"Image": "busybox", "Env": [3]})
    assert status == 400 and "Config.Env" in answer["message"]
    assert engine.containers(all=True) == []


def test_api_versions(api):
    assert api("GET", "/_ping", raw=True) == (200, b"OK")
    assert api("GET", "/v1.24/_ping", raw=True) == (200, b"OK")
    status, answer = api("GET", "/v1.99/version")
    assert status == 400 and "client version 1.99 is too new" in answer["message"]
    status, answer = api("GET", "/v1.12/version")
    assert status == 400 and "too old. Minimum supported API version is 1.24" in \
        answer["message"]


def test_unknown_paths_404_and_unimplemented_endpoints_501(api):
    status, answer = api("GET", "/v1.41/nothing/here")
    assert (status, answer) == (404, {"message": "page not found"})
    status, answer = api("POST", "/v1.41/containers/abc/update", {})
    assert status == 501 and "POST /containers/{id}/update" in answer["message"]
    status, answer = api("GET", "/swarm")
    assert status == 501 and "swarm" in answer["message"]


def test_huge_body_is_refused(api, engine):
    body = json.dumps({"Image": "busybox", "Labels": {"x": "y" * (2 << 20)}}).encode()
    status, answer = api("POST", "/containers/create", body)
    assert status == 413 and "too large" in answer["message"]
    assert engine.containers(all=True) == []


def test_missing_objects_and_conflicts(api, engine):
    status, answer = api("GET", "/containers/nothing/json")
    assert (status, answer) == (404, {"message": "No such container: nothing"})
    status, answer = api("GET", "/images/nothing:1/json")
    assert status == 404 and "No such image" in answer["message"]
    status, answer = api("GET", "/containers/json?filters=%7Bbad")
    assert status == 400 and "filters" in answer["message"]
    container_id = engine.create({"image": "busybox", "cmd": ["true"]})
    status, answer = api("POST", f"/containers/{container_id}/exec", {"Cmd": ["ls"]})
    assert status == 409 and "is not running" in answer["message"]
    status, answer = api("POST", "/containers/create?name=taken", {"Image": "busybox"})
    status, answer = api("POST", "/containers/create?name=taken", {"Image": "busybox"})
    assert status == 409 and "already in use" in answer["message"]


def _raw_request(service, text: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(service.socket_path)
    sock.sendall(text)
    return sock


def _read_headers(sock) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def test_client_leaving_mid_stream_leaves_the_service_serving(service, api, engine):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c",
                                                           "while true; do echo tick; "
                                                           "sleep 0.05; done"]})
    for path in (f"/containers/{container_id}/logs?follow=1&stdout=1",
                 f"/containers/{container_id}/stats",
                 f"/containers/{container_id}/attach?stream=1&stdout=1"):
        sock = _raw_request(service, f"POST {path} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade"
                                     f"\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
                            if "attach" in path else
                            f"GET {path} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
        expected = b"HTTP/1.1 101" if "attach" in path else b"HTTP/1.1 200"
        assert _read_headers(sock).startswith(expected)
        assert sock.recv(100)      # it streams
        sock.close()
    for _ in range(3):              # waits whose clients left give their threads back
        sock = _raw_request(service, f"POST /containers/{container_id}/wait HTTP/1.1\r\n"
                                     "Host: d\r\nContent-Length: 0\r\n\r\n".encode())
        assert _read_headers(sock).startswith(b"HTTP/1.1 200")
        sock.close()
    assert api("GET", "/_ping", raw=True) == (200, b"OK")
    status, answer = api("GET", f"/containers/{container_id}/json")
    assert answer["State"]["Running"]
    engine.remove(container_id, force=True)


def test_a_stalled_attach_reader_never_blocks_the_container(service, api, engine):
    """conmon writes to attach clients with blocking writes: the service must keep reading
    while its client does not, and drop the client rather than freeze the container."""
    container_id = engine.create({"image": "busybox", "cmd": ["sh", "-c",
                                  "head -c 30000000 /dev/zero; echo done"]})
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(service.socket_path)
    sock.sendall(f"POST /containers/{container_id}/attach?stream=1&stdout=1 HTTP/1.1\r\n"
                 "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
                 .encode())
    assert b"101" in _read_headers(sock)
    status, _ = api("POST", f"/containers/{container_id}/start", raw=True)
    assert status == 204
    # The reader never reads again; the program still writes its 30 MB and ends.
    wait_until(lambda: engine.inspect(container_id)["State"]["Status"] == "exited",
               timeout=60, what="the container to finish")
    assert engine.inspect(container_id)["State"]["ExitCode"] == 0
    last = list(engine.logs(container_id, tail=1))
    assert last[-1].data == b"done\n" or last[-1].data.endswith(b"done\n")
    sock.close()
    assert api("GET", "/_ping", raw=True) == (200, b"OK")


def test_archive_paths_stay_inside_the_container(api, engine, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("host only")
    container_id = engine.run({"image": "busybox", "cmd": ["sleep", "300"]})
    climb = "/".join([".."] * 12) + str(secret)
    status, answer = api("GET", f"/containers/{container_id}/archive?path={climb}")
    assert status == 404 and "Could not find the file" in answer["message"]
    status, _ = api("HEAD", f"/containers/{container_id}/archive?path={climb}", raw=True)
    assert status == 404
    for name in ("../../../../../../" + str(tmp_path / "escaped").lstrip("/"),
                 str(tmp_path / "absolute")):
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as archive:
            info = tarfile.TarInfo(name)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"evil"))
        status, answer = api("PUT", f"/containers/{container_id}/archive?path=/tmp",
                             data.getvalue(), headers={"Content-Type": "application/x-tar"})
        # The unpacker keeps such names inside the destination (as a layer's), or refuses.
        assert status in (200, 400), answer
        if status == 200:
            inside = "/tmp/" + os.path.normpath("/" + name).lstrip("/")
            status, _ = api("HEAD", f"/containers/{container_id}/archive?path={inside}",
                            raw=True)
            assert status == 200
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "absolute").exists()
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as archive:
        info = tarfile.TarInfo("out")
        info.type, info.linkname = tarfile.SYMTYPE, str(tmp_path)
        archive.addfile(info)
        info = tarfile.TarInfo("out/through-link")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"evil"))
    status, _ = api("PUT", f"/containers/{container_id}/archive?path=/tmp", link.getvalue(),
                    headers={"Content-Type": "application/x-tar"})
    assert status == 400
    assert not (tmp_path / "through-link").exists()
    engine.remove(container_id, force=True)
    assert not [entry for entry in os.listdir(engine.paths.tmp)
                if not entry.startswith("removing-")]
