"""Building an image from the console: `POST /api/images/build/` (JSON with the context in
base64, or multipart with the context as a file) and the build form. Developers and up; the
Dockerfile is checked with the engine's own parser before any job exists; the context's size
is limited and it is stored for the host untouched (the host unpacks it); tags that are another
team's are refused; build-argument values never reach the audit log or the jobs API."""
import base64
import hashlib
import io
import tarfile

import pytest

from console.audit.models import AuditEntry
from console.images.models import BuildContext
from console.jobs.models import Job

pytestmark = pytest.mark.django_db

DOCKERFILE = "FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n"


def context_tar(files=None, *, compress=False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as tar:
        for name, data in (files or {"hello.txt": b"hello\n"}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build(client, body, query=""):
    return client.post(f"/api/images/build/{query}", body, content_type="application/json")


def body(**extra):
    return {"host": "h1", "team": "alpha", "dockerfile": DOCKERFILE, "tags": ["alpha/app:1"],
            **extra}


def nothing_made(sent):
    return not Job.objects.exists() and not BuildContext.objects.exists() and sent == []


@pytest.mark.parametrize("persona", ["developer", "team_admin", "superuser"])
def test_developers_and_up_build_with_a_context(world, client_for, sent, persona,
                                                django_capture_on_commit_callbacks):
    archive = context_tar(compress=True)
    with django_capture_on_commit_callbacks(execute=True):
        answer = build(client_for(persona), body(
            context=base64.b64encode(archive).decode(), build_args={"VERSION": "1.2",
                                                                   "API_KEY": "hunter2"},
            no_cache=True))
    assert answer.status_code == 202, answer.json()
    job = Job.objects.get()
    assert answer.json()["kind"] == "build" and answer.json()["id"] == job.pk
    assert job.params["dockerfile"] == DOCKERFILE and job.params["tags"] == ["alpha/app:1"]
    assert job.params["build_args"] == {"VERSION": "1.2", "API_KEY": "hunter2"}
    assert job.params["no_cache"] is True and job.params["context_size"] == len(archive)
    stored = BuildContext.objects.get(job=job)
    assert bytes(stored.archive) == archive
    assert stored.sha256 == hashlib.sha256(archive).hexdigest()
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.job_id) == ("image.build", "requested", job.pk)
    assert entry.params["build_args"] == {"VERSION": "[redacted]", "API_KEY": "[redacted]"}
    assert entry.params["dockerfile_sha256"] == hashlib.sha256(DOCKERFILE.encode()).hexdigest()
    assert entry.params["context_size"] == len(archive)
    # Viewers read jobs too: the values stay out of the API.
    shown = client_for("viewer").get(f"/api/jobs/{job.pk}/").json()
    assert shown["params"]["build_args"] == {"VERSION": "[redacted]", "API_KEY": "[redacted]"}
    assert "hunter2" not in client_for("viewer").get(f"/jobs/{job.pk}/").content.decode()


def test_a_build_needs_no_context_nor_tags(world, client_for):
    answer = build(client_for("developer"), {"host": "h1", "dockerfile": "FROM busybox\n"})
    assert answer.status_code == 202
    job = Job.objects.get()
    assert job.params["tags"] == [] and job.params["context_size"] == 0
    assert not BuildContext.objects.exists()


def test_tags_may_be_one_string_and_are_named_as_the_engine_names_them(world, client_for):
    answer = build(client_for("developer"), body(tags="alpha/app alpha/app:2,alpha/app:2"))
    assert answer.status_code == 202
    assert Job.objects.get().params["tags"] == ["alpha/app:latest", "alpha/app:2"]


def test_multipart_with_the_context_as_a_file(world, client_for):
    archive = context_tar()
    upload = io.BytesIO(archive)
    upload.name = "context.tar"
    answer = client_for("developer").post("/api/images/build/", {
        "host": "h1", "dockerfile": DOCKERFILE, "tags": ["alpha/app:1", "alpha/app:2"],
        "build_args": "A=1\nB=two words", "no_cache": "true", "context": upload})
    assert answer.status_code == 202, answer.json()
    job = Job.objects.get()
    assert job.params["tags"] == ["alpha/app:1", "alpha/app:2"]
    assert job.params["build_args"] == {"A": "1", "B": "two words"}
    assert job.params["no_cache"] is True
    assert bytes(BuildContext.objects.get().archive) == archive


def test_multipart_with_the_dockerfile_as_a_file_too(world, client_for):
    dockerfile = io.BytesIO(DOCKERFILE.encode())
    dockerfile.name = "Dockerfile"
    answer = client_for("developer").post("/api/images/build/", {
        "host": "h1", "dockerfile": dockerfile})
    assert answer.status_code == 202, answer.json()
    assert Job.objects.get().params["dockerfile"] == DOCKERFILE


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_viewers_and_operators_are_refused_audited_and_nothing_is_made(world, client_for, sent,
                                                                       persona):
    answer = build(client_for(persona), body(context="not base64 at all"))
    assert answer.status_code == 403        # refused before the context is even looked at
    assert nothing_made(sent)
    assert list(AuditEntry.objects.values_list("action", "result")) == [("image.build",
                                                                         "denied")]


@pytest.mark.parametrize("dockerfile,message", [
    ("FROM busybox\nRUN echo hi\nFORM x\n", "Dockerfile line 3: unknown instruction: FORM"),
    ("RUN echo hi\n", "Dockerfile line 1: RUN before FROM"),
    ("FROM busybox\nCOPY --bad a b\n", "Dockerfile line 2: unknown flag: --bad"),
    ("FROM busybox\nRUN echo \\\n", "Dockerfile line 2: the last instruction ends with a line "
                                    "continuation"),
    ("", "This field is required"),
    ("FROM busybox\n" + "# padding\n" * 30000, "At most 256 KiB"),
])
def test_a_bad_dockerfile_is_refused_with_its_line(world, client_for, sent, dockerfile,
                                                    message):
    answer = build(client_for("developer"), body(dockerfile=dockerfile))
    assert answer.status_code == 400
    assert answer.json()["dockerfile"][0].startswith(message), answer.json()
    assert nothing_made(sent)


@pytest.mark.parametrize("extra,field,words", [
    ({"tags": ["Alpha/App"]}, "tags", "must be lowercase"),
    ({"tags": ["app@sha256:" + "a" * 64]}, "tags", "cannot hold a digest"),
    ({"tags": [f"t/{n}" for n in range(11)]}, "tags", "At most 10 tags"),
    ({"tags": 5}, "tags", "list of name[:tag]"),
    ({"build_args": {"1BAD": "x"}}, "build_args", "not a build argument name"),
    ({"build_args": ["NOEQUALS"]}, "build_args", "is not NAME=value"),
    ({"build_args": {"A": 1}}, "build_args", "is text"),
    ({"no_cache": "maybe"}, "no_cache", "true or false"),
    ({"context": "!!!"}, "context", "not valid base64"),
    ({"context": base64.b64encode(b"just some text, no archive").decode()}, "context",
     "is a tar archive"),
    ({"context": 12}, "context", "tar archive in base64"),
    ({"target": "x"}, "target", "Unknown field"),
    ({"host": "nowhere"}, "host", "No such host"),
])
def test_bad_input_is_a_field_error_and_makes_nothing(world, client_for, sent, extra, field,
                                                       words):
    answer = build(client_for("developer"), body(**extra))
    assert answer.status_code == 400
    assert words in " ".join(answer.json()[field]), answer.json()
    assert nothing_made(sent) and not AuditEntry.objects.exists()


def test_the_context_size_is_limited(world, client_for, sent, settings):
    settings.BUILD_CONTEXT_MAX_BYTES = 4096
    archive = context_tar({"big": b"x" * 8192})
    answer = build(client_for("developer"), body(context=base64.b64encode(archive).decode()))
    assert answer.status_code == 400
    assert "at most 4096" in answer.json()["context"][0]
    upload = io.BytesIO(archive)
    upload.name = "context.tar"
    answer = client_for("developer").post("/api/images/build/", {
        "host": "h1", "dockerfile": DOCKERFILE, "context": upload})
    assert answer.status_code == 400
    assert "at most 4096" in answer.json()["context"][0]
    assert nothing_made(sent)


def test_a_request_larger_than_any_context_is_refused_before_it_is_read(world, client_for,
                                                                        settings, sent):
    settings.BUILD_CONTEXT_MAX_BYTES = 1024
    answer = build(client_for("developer"), body(context="A" * (3 << 20)))
    assert answer.status_code == 413
    assert "a build context may be at most 0 MiB" in answer.json()["detail"]
    assert nothing_made(sent)


def test_a_context_of_several_megabytes_goes_through_json(world, client_for):
    archive = context_tar({"blob": bytes(range(256)) * (16 << 10)})      # 4 MiB
    answer = build(client_for("developer"), body(context=base64.b64encode(archive).decode()))
    assert answer.status_code == 202, answer.content[:300]
    assert BuildContext.objects.get().size == len(archive)


def test_a_tag_of_another_team_or_of_the_host_is_refused(world, client_for, sent):
    from console.images.models import Image

    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "cd" * 32,
                         tags=["beta/app:1"], team=world.teams["beta"])
    client = client_for("developer")
    for tag, owner in (("busybox", "the host"), ("beta/app:1", "another team")):
        answer = build(client, body(tags=["alpha/app:1", tag]))
        assert answer.status_code == 403
        assert owner in answer.json()["tags"][0]
    assert nothing_made(sent)
    assert AuditEntry.objects.filter(action="image.build", result="denied").count() == 2


def another_teams_image(world):
    from console.images.models import Image

    return Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "be" * 32,
                                tags=["beta/secret:1"], team=world.teams["beta"])


@pytest.mark.parametrize("dockerfile,build_args,line,what", [
    ("FROM {name}\n", {}, 1, "FROM"),
    ("ARG BASE=busybox\nFROM ${{BASE}}\n", {"BASE": "{name}"}, 2, "FROM"),
    ("FROM busybox AS one\nFROM busybox\nCOPY --from={name} /secret /s\n", {}, 3,
     "COPY --from"),
])
def test_a_build_from_another_teams_image_reads_as_a_missing_one(world, client_for, sent,
                                                                  dockerfile, build_args,
                                                                  line, what):
    secret = another_teams_image(world)
    client = client_for("developer")
    messages = {}
    for name in ("beta/secret:1", secret.image_id[7:19], "beta/nosuch:1"):
        answer = build(client, body(
            dockerfile=dockerfile.format(name=name),
            build_args={key: value.format(name=name) for key, value in build_args.items()}))
        assert answer.status_code == 400, answer.json()
        messages[name] = answer.json()["dockerfile"]
    assert messages["beta/nosuch:1"] == [f"Dockerfile line {line}: {what} beta/nosuch:1: no "
                                         "such image on h1; pull or build it first."]
    for name, message in messages.items():
        assert message == [messages["beta/nosuch:1"][0].replace("beta/nosuch:1", name)]
    assert nothing_made(sent) and not AuditEntry.objects.exists()


def test_a_build_from_the_teams_own_and_the_hosts_images_is_taken(world, client_for):
    from console.images.models import Image

    Image.objects.create(host=world.hosts["h1"], image_id="sha256:" + "a1" * 32,
                         tags=["alpha/base:1"], team=world.teams["alpha"])
    answer = build(client_for("developer"), body(
        dockerfile="FROM alpha/base:1 AS one\nFROM busybox\nCOPY --from=one /x /x\n"
                   "COPY --from=busybox:latest /bin/sh /sh\n"))
    assert answer.status_code == 202, answer.json()


def test_a_superuser_builds_from_any_image(world, client_for):
    another_teams_image(world)
    answer = build(client_for("superuser"), body(dockerfile="FROM beta/secret:1\n"))
    assert answer.status_code == 202, answer.json()


# -- the form -------------------------------------------------------------------------------

def test_the_form_builds_with_an_uploaded_context(world, client_for, sent,
                                                  django_capture_on_commit_callbacks):
    archive = context_tar(compress=True)
    upload = io.BytesIO(archive)
    upload.name = "context.tar.gz"
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for("developer").post("/images/build/", {
            "team": "alpha", "host": "h1", "tags": "alpha/app:1", "dockerfile": DOCKERFILE,
            "build_args": "A=1", "context": upload})
    job = Job.objects.get()
    assert answer.status_code == 302 and answer.url == f"/jobs/{job.pk}/"
    assert bytes(BuildContext.objects.get(job=job).archive) == archive
    assert job.params["build_args"] == {"A": "1"} and len(sent) == 1
    page = client_for("developer").get(answer.url).content.decode()
    assert "Dockerfile" in page and "COPY hello.txt /hello.txt" in page and "A=[redacted]" in page


def test_the_form_shows_the_dockerfiles_line(world, client_for, sent):
    answer = client_for("developer").post("/images/build/", {
        "team": "alpha", "host": "h1", "dockerfile": "FROM busybox\nFORM x\n"})
    assert answer.status_code == 400
    assert "Dockerfile line 2: unknown instruction: FORM" in answer.content.decode()
    assert nothing_made(sent)


def test_the_form_is_for_those_who_may_build(world, client_for, sent):
    assert client_for("developer").get("/images/build/").status_code == 200
    assert client_for("viewer").get("/images/build/").status_code == 403
    answer = client_for("viewer").post("/images/build/", {"host": "h1",
                                                          "dockerfile": DOCKERFILE})
    assert answer.status_code == 403 and nothing_made(sent)
    assert AuditEntry.objects.get().result == "denied"
