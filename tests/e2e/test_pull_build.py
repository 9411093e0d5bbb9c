"""Pull and build through the console, end to end: the API, Redis, the e2e host's Celery worker
and the real engine, a real registry (Debian's docker-registry) on the loopback address the
stack lets users pull from (a user's pull reaches no other address of the host).

An image is built and pushed from an engine root of the test's own (as from another machine),
then a developer pulls it onto the e2e host through the API and runs a container from it; a
pull of an unknown tag, from a registry nobody serves, and of a tampered layer each fail with
the engine's one line. A two-stage Dockerfile with a context is built through the API and its
image run; a failing build names its Dockerfile line. A team's build neither starts from,
copies from nor takes cached steps of another team's image."""
import base64
import io
import os
import secrets
import shutil
import tarfile
import tempfile

import pytest

from runtime.api import Engine
from runtime.image.distribution.policy import AddressPolicy
from tests.runtime.registry_fixture import Registry
from tests.stack import TEST_REGISTRY_HOST, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture(scope="module")
def registry():
    the_registry = Registry(host=TEST_REGISTRY_HOST)
    try:
        yield the_registry.start()
    finally:
        the_registry.stop()


@pytest.fixture(scope="module")
def elsewhere():
    """An engine root of the test's own, with busybox: where images are built and pushed from."""
    engine = Engine(tempfile.mkdtemp(prefix="moorage-e2e-elsewhere-"))
    engine.bootstrap_busybox()
    try:
        yield engine
    finally:
        engine.reset()
        shutil.rmtree(engine.paths.root, ignore_errors=True)


@pytest.fixture(scope="module")
def developer(stack):
    """A developer of team default, with an API token."""
    return stack.new_user("pb", stack.default_team())[2]


@pytest.fixture(scope="module")
def rival(stack):
    """A developer of a second team, also granted the host e2e."""
    return stack.new_user("pb", stack.new_team("rival"))[2]


@pytest.fixture
def containers(stack):
    names = []
    yield names
    for name in names:
        stack.admin.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")


def push_image(engine, reference, files) -> str:
    """Build busybox plus `files` in `engine` as `reference` and push it; its image ID."""
    context = tempfile.mkdtemp(prefix="moorage-e2e-context-")
    try:
        for name, text in files.items():
            with open(os.path.join(context, name), "w") as handle:
                handle.write(text)
        with open(os.path.join(context, "Dockerfile"), "w") as handle:
            handle.write("FROM busybox\n" + "".join(f"COPY {name} /{name}\n" for name in files))
        image_id = engine.build(context, tags=[reference])
    finally:
        shutil.rmtree(context)
    engine.push(reference)
    return image_id


def run_and_read(stack, api, containers, image, cmd=None) -> str:
    """Run a container of `image` on e2e and wait for it to exit 0; what it printed."""
    name = "pb-" + secrets.token_hex(3)
    containers.append(name)
    body = {"image": image, "host": "e2e", "name": name}
    if cmd:
        body["cmd"] = cmd
    job = api.ok("POST", "/api/containers/?wait=1", body)
    assert job["state"] == "succeeded", job
    done = wait_until(lambda: (lambda c: c if c["state"] == "exited" else None)(
        api.ok("GET", f"/api/containers/{name}/")), timeout=30, what=f"{name} exited")
    assert done["exit_code"] == 0, done
    return stack.moor("e2e", "logs", name).stdout


def image_row(api, image_id):
    return next(i for i in api.ok("GET", "/api/images/?host=e2e")["results"]
                if i["id"] == image_id)


def test_pull_from_a_registry_then_run_it(stack, registry, elsewhere, developer, containers):
    reference = f"{registry.address}/e2e/pulled:1"
    pushed = push_image(elsewhere, reference, {"pulled.txt": "pulled from a registry\n"})

    job = developer.ok("POST", "/api/images/pull/?wait=1", {"reference": reference,
                                                            "host": "e2e"})
    assert job["state"] == "succeeded", job
    assert job["kind"] == "pull" and job["result"] == {"image_id": pushed,
                                                       "reference": reference}
    lines = job["output"].splitlines()
    assert lines[0] == "1: Pulling from e2e/pulled"
    # busybox's layer is on the host already; the one with the file comes down.
    assert [line.split(": ", 1)[1] for line in lines[1:3]] == ["Already exists",
                                                                "Pulling fs layer"], lines
    assert any(line.endswith(": Download complete") for line in lines), lines
    assert lines[-1] == f"Status: Downloaded newer image for {reference}"
    image = image_row(developer, pushed)
    assert image["team"] == "default" and image["tags"] == [reference]

    assert run_and_read(stack, developer, containers, reference,
                        ["cat", "/pulled.txt"]) == "pulled from a registry\n"
    audit = stack.admin.ok("GET", "/api/audit/?action=image.pull")["results"]
    assert audit[0]["job"] == job["id"] and audit[0]["job_state"] == "succeeded"
    assert audit[0]["result"] == "requested"


def pull_on_e2e(api, reference):
    job = api.ok("POST", "/api/images/pull/?wait=1", {"reference": reference, "host": "e2e"})
    assert job["state"] in ("succeeded", "failed"), job
    return job


def test_a_failed_pull_says_why_in_one_line(stack, registry, elsewhere, developer):
    unknown = pull_on_e2e(developer, f"{registry.address}/e2e/pulled:nosuchtag")
    nobody_there = f"{TEST_REGISTRY_HOST}:{free_port()}"
    nobody = pull_on_e2e(developer, f"{nobody_there}/e2e/nobody:1")
    for job in (unknown, nobody):
        assert job["state"] == "failed", job
        assert job["error"] and "\n" not in job["error"]
    assert "nosuchtag" in unknown["error"] and "not found" in unknown["error"], unknown["error"]
    assert nobody["error"] == AddressPolicy.unreachable(nobody_there)
    # A superuser's pull is told what happened, as moor pull on the host.
    nobody = pull_on_e2e(stack.admin, f"{nobody_there}/e2e/nobody:1")
    assert "connection refused" in nobody["error"].lower(), nobody["error"]

    # A layer whose bytes are not those its digest names.
    reference = f"{registry.address}/e2e/tampered:1"
    image_id = push_image(elsewhere, reference, {"t.txt": secrets.token_hex(8)})
    chain = elsewhere.store.layers(image_id)[-1]
    blob = elsewhere.store.layer_info(chain)["source"]["digest"]
    with open(registry.blob_file(blob), "r+b") as handle:
        data = bytearray(handle.read())
        data[len(data) // 2] ^= 0xFF
        handle.seek(0)
        handle.write(data)
    job = developer.ok("POST", "/api/images/pull/?wait=1", {"reference": reference,
                                                            "host": "e2e"})
    assert job["state"] == "failed"
    assert job["error"] == f"filesystem layer verification failed for digest {blob}"
    assert image_id not in [i["id"] for i in developer.ok("GET", "/api/images/?host=e2e")
                            ["results"]]


def test_a_users_pull_cannot_probe_the_hosts_own_ports(stack, developer):
    """Redis, the console's web server and a closed port on loopback, also through a name that
    resolves there, fail alike: the host refuses them before connecting. A superuser's pull
    still reaches loopback."""
    closed = free_port()
    registries = [f"127.0.0.1:{stack.redis_port}", f"127.0.0.1:{stack.web_port}",
                  f"127.0.0.1:{closed}", f"localhost:{stack.web_port}"]
    for address in registries:
        job = pull_on_e2e(developer, f"{address}/probe/x:1")
        assert job["state"] == "failed"
        assert job["error"] == AddressPolicy.unreachable(address)
        assert job["output"].splitlines() == ["1: Pulling from probe/x"]
    admin = pull_on_e2e(stack.admin, f"127.0.0.1:{closed}/probe/x:1")
    assert admin["error"] == f"cannot reach registry 127.0.0.1:{closed}: Connection refused"


DOCKERFILE = """\
FROM busybox AS maker
COPY hello.txt /hello.txt
RUN sed 's/hello/bonjour/' /hello.txt > /greeting && echo made the greeting
FROM busybox
COPY --from=maker /greeting /greeting
CMD ["cat", "/greeting"]
"""


def context_base64(files) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def test_build_a_two_stage_dockerfile_with_a_context_and_run_it(stack, developer, containers):
    job = developer.ok("POST", "/api/images/build/?wait=1", {
        "host": "e2e", "tags": ["e2e/built:1"], "dockerfile": DOCKERFILE,
        "context": context_base64({"hello.txt": b"hello, world\n"})})
    assert job["state"] == "succeeded", (job["error"], job["output"])
    output = job["output"]
    assert "Step 1/7 : FROM busybox AS maker" in output
    assert "made the greeting" in output                        # RUN's own output
    assert "Step 7/7 : LABEL moorage.team=default" in output
    assert output.rstrip().endswith("Successfully tagged e2e/built:1")
    image = image_row(developer, job["result"]["image_id"])
    assert image["team"] == "default" and image["tags"] == ["e2e/built:1"]
    assert run_and_read(stack, developer, containers, "e2e/built:1") == "bonjour, world\n"
    # Nothing of the build is left in the host's staging directory.
    staging = os.path.join(stack.roots["e2e"], "tmp")
    wait_until(lambda: not [entry for entry in os.listdir(staging)
                            if entry.startswith(("console-build-", "build-"))],
               timeout=10, what="the build's staging removed")


def test_a_failing_build_names_its_line(stack, developer):
    job = developer.ok("POST", "/api/images/build/?wait=1", {
        "host": "e2e", "tags": ["e2e/broken:1"],
        "dockerfile": "FROM busybox\nRUN echo before\n\nRUN echo going && exit 3\n"})
    assert job["state"] == "failed"
    assert job["error"] == ("Dockerfile line 4: The command '/bin/sh -c echo going && exit 3' "
                            "returned a non-zero code: 3")
    assert "going" in job["output"]
    assert job["output"].rstrip().endswith("returned a non-zero code: 3")
    # A base that is not there is named before any job (the host names what it computes).
    status, answer = developer.call("POST", "/api/images/build/", {
        "host": "e2e", "dockerfile": "FROM e2e/nosuchbase:1\n"})
    assert status == 400
    assert answer["dockerfile"] == ["Dockerfile line 1: FROM e2e/nosuchbase:1: no such image "
                                    "on e2e; pull or build it first."]


def build_on_e2e(api, dockerfile, **fields):
    job = api.ok("POST", "/api/images/build/?wait=1", {"host": "e2e", "dockerfile": dockerfile,
                                                       **fields})
    assert job["state"] in ("succeeded", "failed"), job
    return job


def test_a_build_cannot_read_another_teams_image(stack, developer, rival, containers):
    token = secrets.token_hex(8)
    secret_tag = f"rival/secret:{token}"
    made = build_on_e2e(rival, f"FROM busybox\nRUN echo {token} > /secret\n", tags=[secret_tag])
    assert made["state"] == "succeeded", made["error"]
    secret_id = made["result"]["image_id"]

    # Refused before any job, as an image that is not there would be.
    for dockerfile, build_args in (
            ("FROM {name}\n", {}),
            ("ARG BASE=busybox\nFROM $BASE\nRUN cat /secret\n", {"BASE": "{name}"}),
            ("FROM busybox\nCOPY --from={name} /secret /secret\n", {})):
        answers = {}
        for name in (secret_tag, secret_id[7:19], f"rival/nosuch:{token}"):
            status, answer = developer.call("POST", "/api/images/build/", {
                "host": "e2e", "dockerfile": dockerfile.format(name=name),
                "build_args": {k: v.format(name=name) for k, v in build_args.items()}})
            assert status == 400, answer
            answers[name] = answer["dockerfile"][0]
        assert "no such image on e2e; pull or build it first" in answers[secret_tag]
        for name, message in answers.items():
            assert message == answers[f"rival/nosuch:{token}"].replace(
                f"rival/nosuch:{token}", name)

    # What only the host can compute, the host refuses: the same words as for no image.
    copy = "FROM busybox\nARG SOURCE\nCOPY --from=$SOURCE /secret /secret\n"
    errors = {}
    for name in (secret_tag, f"rival/nosuch:{token}"):
        job = build_on_e2e(developer, copy, build_args={"SOURCE": name})
        assert job["state"] == "failed"
        errors[name] = job["error"]
    assert errors[secret_tag] == (f"Dockerfile line 3: COPY --from {secret_tag}: no such "
                                  "image on this host; pull or build it first")
    assert errors[f"rival/nosuch:{token}"] == errors[secret_tag].replace(
        secret_tag, f"rival/nosuch:{token}")

    # A superuser builds from any image.
    job = build_on_e2e(stack.admin, copy, build_args={"SOURCE": secret_tag})
    assert job["state"] == "succeeded", job["error"]


def test_a_build_does_not_take_another_teams_cached_steps(stack, developer, rival, containers):
    """The same RUN on the same base is the cache's one key; what it wrote may differ (here
    16 random bytes) and is the other team's."""
    dockerfile = (f"FROM busybox\nENV RUN_ID={secrets.token_hex(8)}\n"
                  "RUN head -c 16 /dev/urandom | od -An -tx1 > /random\n")
    theirs = build_on_e2e(rival, dockerfile)
    assert theirs["state"] == "succeeded", theirs["error"]
    ours = build_on_e2e(developer, dockerfile)
    assert ours["state"] == "succeeded", ours["error"]
    assert "Using cache" not in ours["output"]
    read = ["cat", "/random"]
    assert run_and_read(stack, developer, containers, ours["result"]["image_id"], read) != \
        run_and_read(stack, rival, containers, theirs["result"]["image_id"], read)
    # The team's own cached steps are its to use.
    again = build_on_e2e(developer, dockerfile)
    assert again["output"].count("Using cache") == 3, again["output"]
    assert again["result"]["image_id"] == ours["result"]["image_id"]


def test_the_web_process_ends_a_terminal_session_nobody_resumed(stack):
    """No page does it any more: daphne's housekeeping thread does, on its own."""
    session_id = secrets.token_hex(16)
    stack.manage("shell", "-c", (
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from console.streams.models import TerminalSession\n"
        "long_ago = timezone.now() - timedelta(days=1)\n"
        f"TerminalSession.objects.create(id='{session_id}', username='admin', "
        "container_engine_id='0' * 64, container_name='gone', mode='exec', "
        "started_at=long_ago, seen_at=long_ago, detached_at=long_ago)\n"))
    stack.admin.ok("GET", "/api/jobs/")        # daphne has served a request: its thread runs
    entries = wait_until(
        lambda: [e for e in stack.admin.ok("GET", "/api/audit/?action=container.terminal.close")
                 ["results"] if e["params"].get("session") == session_id],
        timeout=30, interval=0.5, what="the stale session ended")
    assert entries[0]["params"]["reason"] == "not resumed"
