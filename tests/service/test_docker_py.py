"""docker-py (the `docker` package on PyPI), unchanged, against the engine service: its
container, exec, logs, image, network and volume calls."""

import io
import tarfile

import docker as docker_py
import pytest

pytestmark = pytest.mark.privileged


def test_ping_and_version(client):
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.41"


def test_containers_run_logs_exec_archive(client):
    assert client.containers.run("busybox", ["sh", "-c", "echo hi; echo err >&2"],
                                 remove=True, stderr=True) == b"hi\nerr\n"
    container = client.containers.run("busybox", ["sleep", "300"], detach=True, name="pyc",
                                      environment={"A": "1"}, labels={"k": "v"})
    container.reload()
    assert container.status == "running" and "A=1" in container.attrs["Config"]["Env"]
    assert [c.name for c in client.containers.list(filters={"label": "k=v"})] == ["pyc"]
    assert container.exec_run(["sh", "-c", "echo $A; exit 2"]) == (2, b"1\n")
    code, (out, err) = container.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert (code, out, err) == (0, b"o\n", b"e\n")
    assert container.top()["Processes"][0][-1] == "sleep 300"
    stats = container.stats(stream=False)
    assert stats["pids_stats"]["current"] == 1 and stats["memory_stats"]["usage"] > 0
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("x.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"xyz"))
    assert container.put_archive("/tmp", data.getvalue())
    assert container.exec_run("cat /tmp/x.txt").output == b"xyz"
    chunks, stat = container.get_archive("/tmp/x.txt")
    assert stat["name"] == "x.txt" and stat["size"] == 3
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        assert archive.extractfile("x.txt").read() == b"xyz"
    assert {"Path": "/tmp/x.txt", "Kind": 1} in container.diff()
    container.pause()
    container.reload()
    assert container.status == "paused"
    container.unpause()
    container.stop(timeout=1)
    assert container.wait()["StatusCode"] == 137
    container.remove()
    with pytest.raises(docker_py.errors.NotFound):
        client.containers.get("pyc")


def test_attach_socket_and_logs_stream(client):
    container = client.containers.create("busybox", ["sh", "-c", "read x; echo got $x"],
                                         stdin_open=True)
    sock = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1,
                                                          "stream": 1})
    container.start()
    sock._sock.sendall(b"line\n")
    received = b""
    while b"got line" not in received:
        chunk = sock._sock.recv(4096)
        if not chunk:
            break
        received += chunk
    assert received[:1] == b"\x01" and received.endswith(b"got line\n")
    sock.close()
    assert container.wait()["StatusCode"] == 0
    assert list(container.logs(stream=True)) == [b"got line\n"]
    container.remove()


def test_images_build_commit_tag(client):
    context = io.BytesIO()
    dockerfile = b"FROM busybox\nRUN echo built > /b\n"
    with tarfile.open(fileobj=context, mode="w") as archive:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        archive.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    image, logs = client.images.build(fileobj=context, custom_context=True, tag="pybuilt:1")
    assert image.tags == ["pybuilt:1"]
    assert any("Step 2/2" in line.get("stream", "") for line in logs)
    assert image.tag("pybuilt", "2")
    assert client.images.get("pybuilt:2").id == image.id
    assert len(image.history()) == 2
    container = client.containers.run("pybuilt:1", ["cat", "/b"], detach=True)
    assert container.wait()["StatusCode"] == 0
    committed = container.commit("pycommit", "v1", message="from python")
    assert committed.tags == ["pycommit:v1"]
    container.remove()
    for name in ("pycommit:v1", "pybuilt:2", "pybuilt:1"):
        client.images.remove(name)
    with pytest.raises(docker_py.errors.ImageNotFound):
        client.images.get("pybuilt:1")


def test_networks(client):
    network = client.networks.create("pynet", labels={"a": "b"})
    assert "pynet" in [n.name for n in client.networks.list()]
    assert client.networks.list(filters={"label": "a=b"})[0].id == network.id
    container = client.containers.run("busybox", ["sleep", "300"], detach=True)
    network.connect(container)
    container.reload()
    assert "pynet" in container.attrs["NetworkSettings"]["Networks"]
    network.disconnect(container)
    container.remove(force=True)
    network.remove()


def test_volume_calls(client):
    volume = client.volumes.create("pyvol", labels={"team": "py"})
    assert client.volumes.create("pyvol").id == volume.id
    assert [v.name for v in client.volumes.list(filters={"label": "team=py"})] == ["pyvol"]
    assert client.volumes.get("pyvol").attrs["Labels"] == {"team": "py"}
    output = client.containers.run(
        "busybox", ["sh", "-c", "echo py > /data/f; cat /data/f; ls /opt"], remove=True,
        volumes={"pyvol": {"bind": "/data", "mode": "rw"}},
        mounts=[docker_py.types.Mount("/opt", None, type="tmpfs")])
    assert output == b"py\n"
    assert client.containers.run("busybox", ["cat", "/data/f"], remove=True,
                                 volumes=["pyvol:/data:ro"]) == b"py\n"
    with pytest.raises(docker_py.errors.NotFound):
        client.volumes.get("no-such-volume")
    volume.remove()
    client.volumes.create("pyunused")
    assert "pyunused" in client.volumes.prune()["VolumesDeleted"]


def test_listings_filter_and_count_as_moors_do(client):
    """Containers and images filtered by the engine's own filters (those of `moor ps` and
    `moor images`), and `docker system df` as `moor system df` counts it."""
    client.volumes.create("pyfilter")
    first = client.containers.create("busybox", ["true"], name="pyf-first",
                                     volumes={"pyfilter": {"bind": "/data", "mode": "rw"}})
    second = client.containers.create("busybox", ["true"], name="pyf-second")
    try:
        def names(**filters):
            return sorted(c.name for c in client.containers.list(all=True, filters=filters)
                          if c.name.startswith("pyf-"))
        assert names(volume="pyfilter") == names(volume="/data") == ["pyf-first"]
        assert names(since="pyf-first") == ["pyf-second"]
        assert names(before="pyf-second") == ["pyf-first"]
        assert names(health="none", name="^pyf-") == ["pyf-first", "pyf-second"]
        with pytest.raises(docker_py.errors.APIError) as raised:
            names(health="fine")
        assert raised.value.status_code == 400
        committed = first.commit("pyfimg", "1")
        tags = [tag for image in client.images.list(filters={"since": "busybox"})
                for tag in image.tags]
        assert "pyfimg:1" in tags and "busybox:latest" not in tags
        assert "pyfimg:1" not in [tag for image in client.images.list(
            filters={"before": "pyfimg:1"}) for tag in image.tags]
        assert [image.id for image in client.images.list(filters={"reference": "pyf*"})] == \
            [committed.id]
        usage = client.df()
        assert set(usage) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
        volume = next(v for v in usage["Volumes"] if v["Name"] == "pyfilter")
        assert volume["UsageData"]["RefCount"] == 1
        client.images.remove("pyfimg:1")
    finally:
        first.remove(v=True)
        second.remove()
        client.volumes.get("pyfilter").remove()
