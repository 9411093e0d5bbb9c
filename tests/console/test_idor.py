"""A user of team beta (`stranger`) tries every read and every action on team alpha's
containers, images, jobs, commits and audit entries, naming each by ID, by name and by ID
prefix, through the pages, the API and the websockets. Every answer is the 404 a name that
does not exist gets (no existence oracle), lists leave alpha's rows out, nothing changes and
no job is sent; each attempted action is audited as denied, alike for the hidden and the
missing, with only the reference as typed."""
import secrets

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from console.audit.models import AuditEntry
from console.core.testing import build_world
from tests.console.matrix_world import add_objects, changed_tables, fingerprint
from tests.console.streams_fixtures import session_cookie

pytestmark = pytest.mark.usefixtures("recordings")


@pytest.fixture
def objects(world):
    return add_objects(world)


@pytest.fixture
def stranger(client_for):
    return client_for("stranger")


def container_refs(o):
    return {"id": o.web.engine_id, "prefix": o.web.engine_id[:8], "name": "web"}


def image_refs(o):
    hex_id = o.image.image_id.removeprefix("sha256:")
    return {"id": o.image.image_id, "row": str(o.image.pk), "prefix": hex_id[:8],
            "name": "alphatool:v1"}


def commit_refs(o):
    hex_id = o.commit.new_image_id.removeprefix("sha256:")
    return {"id": str(o.commit.pk), "image id": o.commit.new_image_id, "prefix": hex_id[:8],
            "name": "alphatool:v1"}


def unknown_like(ref: str) -> str:
    """A reference of the same shape that names nothing."""
    if ref.isdigit():
        return str(10 ** 6 + int(ref))
    if ref.startswith("sha256:"):
        return "sha256:" + "0" * 64
    if all(c in "0123456789abcdef" for c in ref):
        return "0" * len(ref)
    return "no-such-" + secrets.token_hex(3)


def read(client, method, url, body=None):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body or {}, content_type="application/json") \
        if url.startswith("/api/") else getattr(client, method)(url, body or {})


def assert_invisible(client, method, url_for, ref, body=None, sent=None):
    """`url_for(ref)` answers as `url_for(<a name that does not exist>)` does, changing
    nothing; returns the name that does not exist."""
    before = fingerprint()
    unknown = unknown_like(ref)
    hidden = read(client, method, url_for(ref), body)
    missing = read(client, method, url_for(unknown), body)
    assert hidden.status_code == 404, (method, url_for(ref), hidden.status_code)
    assert missing.status_code == 404
    assert changed_tables(before, fingerprint()) == []
    if sent is not None:
        assert sent == []
    if url_for(ref).startswith("/api/"):
        # Same words, but for the name itself.
        assert hidden.json()["detail"].replace(ref, "?") == \
            missing.json()["detail"].replace(unknown, "?")
    return unknown


def assert_refusals_hold_only_what_was_typed(action, refs):
    """One denied entry per reference tried, hidden or missing alike, holding the reference
    as typed and nothing of what it may have named."""
    denied = AuditEntry.objects.filter(action=action, result="denied", actor_name="stranger")
    assert sorted(denied.values_list("target_name", flat=True)) == sorted(refs), action
    assert set(denied.values_list("team_name", "host_name", "target_id")) == {("", "", "")}
    assert sorted(e.params["reference"] for e in denied) == sorted(refs)


# -- containers ------------------------------------------------------------------------------

CONTAINER_READS = [
    ("get", lambda r: f"/containers/{r}/"),
    ("get", lambda r: f"/containers/{r}/commit/"),
    ("get", lambda r: f"/api/containers/{r}/"),
    ("get", lambda r: f"/api/containers/{r}/inspect/"),
]
CONTAINER_ACTIONS = [
    ("post", lambda r, verb=verb: f"/containers/{r}/{verb}/", "container." + verb, None)
    for verb in ("start", "stop", "kill", "restart", "remove")
] + [
    ("post", lambda r: f"/containers/{r}/commit/", "container.commit", {"repository": "b/x"}),
    ("post", lambda r: f"/containers/{r}/grants/", "container.grant",
     {"user": "stranger", "actions": ["start"]}),
    ("post", lambda r: f"/api/containers/{r}/commit/", "container.commit", {}),
    ("delete", lambda r: f"/api/containers/{r}/", "container.remove", None),
] + [
    ("post", lambda r, verb=verb: f"/api/containers/{r}/{verb}/", "container." + verb, {})
    for verb in ("start", "stop", "kill", "restart")
]


@pytest.mark.parametrize("how", ["id", "prefix", "name"])
@pytest.mark.parametrize("method,url", CONTAINER_READS)
def test_container_reads(objects, stranger, how, method, url):
    assert_invisible(stranger, method, url, container_refs(objects)[how])


@pytest.mark.parametrize("how", ["id", "prefix", "name"])
@pytest.mark.parametrize("method,url,action,body", CONTAINER_ACTIONS)
def test_container_actions_are_404_and_audited(objects, stranger, sent, how, method, url,
                                               action, body):
    ref = container_refs(objects)[how]
    unknown = assert_invisible(stranger, method, url, ref, body, sent)
    assert_refusals_hold_only_what_was_typed(action, [ref, unknown])


def test_bulk_actions_skip_what_the_user_cannot_see(objects, stranger, sent):
    before = fingerprint()
    for ref in container_refs(objects).values():
        response = stranger.post("/containers/bulk/", {"action": "stop", "containers": [ref]})
        assert response.status_code == 302
    assert changed_tables(before, fingerprint()) == [] and sent == []


def test_container_lists_and_filters_leave_alphas_out(objects, stranger):
    web = objects.web
    assert web.engine_id not in stranger.get("/containers/?name=web").content.decode()
    names = [c["name"] for c in stranger.get("/api/containers/?name=web").json()["results"]]
    assert names == []
    assert stranger.get("/api/containers/?team=alpha").json()["count"] == 0
    assert stranger.get("/api/grants/").json()["count"] == 0


def test_the_run_form_cannot_use_alphas_image_or_host(objects, stranger, sent):
    before = fingerprint()
    for image in image_refs(objects).values():
        answer = stranger.post("/api/containers/", {"image": image, "host": "h1",
                                                    "team": "beta"},
                               content_type="application/json")
        assert answer.status_code == 400
        answer = stranger.post("/api/containers/", {"image": image, "host": "h2"},
                               content_type="application/json")
        assert answer.status_code == 400 and "No such image" in str(answer.json())
    assert changed_tables(before, fingerprint()) == [] and sent == []


# -- images ------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["id", "row", "prefix", "name"])
def test_images(objects, stranger, sent, how):
    ref = image_refs(objects)[how]
    assert_invisible(stranger, "get", lambda r: f"/api/images/{r}/", ref)
    unknown = assert_invisible(stranger, "post", lambda r: f"/api/images/{r}/tag/", ref,
                               {"repository": "beta/stolen"}, sent)
    assert_refusals_hold_only_what_was_typed("image.tag", [ref, unknown])
    page = stranger.get(f"/commits/?image={ref}").content.decode()
    assert "data-commit=" not in page and "lineage" not in page.split("history-problem")[1]
    assert f"No image {ref} that you may see." in page


def test_image_lists_leave_alphas_out(objects, stranger):
    listed = {i["id"] for i in stranger.get("/api/images/").json()["results"]}
    assert objects.image.image_id not in listed
    assert objects.image.image_id not in stranger.get("/images/").content.decode()


# -- jobs --------------------------------------------------------------------------------------

def test_jobs(objects, stranger):
    job = objects.job
    assert_invisible(stranger, "get", lambda r: f"/jobs/{r}/", str(job.pk))
    assert_invisible(stranger, "get", lambda r: f"/api/jobs/{r}/", str(job.pk))
    for ref in container_refs(objects).values():
        assert stranger.get(f"/api/jobs/?container={ref}").json()["count"] == 0
    assert f'data-job="{job.pk}"' not in stranger.get("/jobs/").content.decode()


# -- commits -----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["id", "image id", "prefix", "name"])
def test_commits(objects, stranger, sent, how):
    ref = commit_refs(objects)[how]
    assert_invisible(stranger, "get", lambda r: f"/commits/{r}/", ref)
    assert_invisible(stranger, "get", lambda r: f"/api/commits/{r}/", ref)
    unknowns = [assert_invisible(stranger, "post",
                                 lambda r, prefix=prefix: f"{prefix}/commits/{r}/tag/", ref,
                                 {"repository": "beta/stolen"}, sent)
                for prefix in ("", "/api")]
    assert_refusals_hold_only_what_was_typed("image.tag", [ref, ref] + unknowns)


def test_commit_lists_leave_alphas_out(objects, stranger):
    prefix = objects.commit.new_image_id[7:15]
    assert stranger.get("/api/commits/").json()["count"] == 0
    assert stranger.get(f"/api/commits/?image={prefix}").json()["count"] == 0
    assert stranger.get("/api/commits/?team=alpha").json()["count"] == 0
    html = stranger.get("/commits/?team=alpha").content.decode()
    assert objects.commit.short_id not in html and "add the tool" not in html


# -- audit entries -----------------------------------------------------------------------------

def test_audit_entries(objects, stranger):
    entry = objects.entry
    assert_invisible(stranger, "get", lambda r: f"/audit/{r}/", str(entry.pk))
    assert_invisible(stranger, "get", lambda r: f"/api/audit/{r}/", str(entry.pk))
    for ref in container_refs(objects).values():
        assert stranger.get(f"/api/audit/?target={ref}").json()["count"] == 0
        html = stranger.get(f"/audit/?target={ref}").content.decode()
        assert f'data-entry="{entry.pk}"' not in html
        for kind in ("csv", "json"):
            export = stranger.get(f"/audit/export/{kind}/?target={ref}")
            assert objects.web.engine_id not in b"".join(export.streaming_content).decode()
    assert stranger.get("/api/audit/?team=alpha").json()["count"] == 0


# -- teams -------------------------------------------------------------------------------------

def test_teams(objects, stranger, sent):
    team = objects.team
    for url in (f"/teams/{team.pk}/", f"/api/teams/{team.pk}/",
                f"/api/teams/{team.pk}/members/"):
        assert_invisible(stranger, "get", lambda r, url=url: url.replace(str(team.pk), r),
                         str(team.pk))
    assert_invisible(stranger, "post", lambda r: f"/teams/{r}/members/", str(team.pk),
                     {"user": "stranger", "role": "admin"}, sent)
    assert_invisible(stranger, "post", lambda r: f"/api/teams/{r}/members/", str(team.pk),
                     {"user": "stranger", "role": "admin"}, sent)
    assert_invisible(stranger, "patch", lambda r: f"/api/teams/{r}/", str(team.pk),
                     {"terminal_user": "root"}, sent)
    assert_invisible(stranger, "delete", lambda r: f"/api/teams/{r}/members/viewer/",
                     str(team.pk), None, sent)
    denied = AuditEntry.objects.filter(result="denied", actor_name="stranger")
    assert sorted(denied.values_list("action", flat=True)) == sorted(
        ["team.member.remove", "team.member.set", "team.member.set", "team.settings"] * 2)
    assert sorted(set(denied.values_list("target_name", flat=True))) == sorted(
        [str(team.pk), unknown_like(str(team.pk))])
    assert set(denied.values_list("team_name", "target_id")) == {("", "")}


@pytest.mark.parametrize("how", ["id", "prefix", "name"])
def test_granting_on_a_hidden_container_is_404_and_audited(objects, stranger, sent, how):
    ref = container_refs(objects)[how]
    before = fingerprint()
    body = {"user": "stranger", "container": ref, "actions": ["terminal"]}
    unknown = unknown_like(ref)
    hidden = stranger.post("/api/grants/", body, content_type="application/json")
    missing = stranger.post("/api/grants/", dict(body, container=unknown),
                            content_type="application/json")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert changed_tables(before, fingerprint()) == []
    assert_refusals_hold_only_what_was_typed("container.grant", [ref, unknown])


# -- websockets --------------------------------------------------------------------------------

@database_sync_to_async
def make_objects():
    world = build_world()
    return world, add_objects(world)


def container_socket_patterns():
    from tests.console.test_matrix import websocket_routes

    return [pattern for _, pattern in websocket_routes() if "<" in pattern]


@pytest.mark.django_db(transaction=True)
async def test_websockets_of_alphas_containers_refuse_a_stranger():
    """Every socket route that names a container, by ID, prefix and name."""
    from console.asgi import application

    patterns = container_socket_patterns()
    assert len(patterns) >= 2, patterns         # the terminal and the logs, at least
    world, objects = await make_objects()
    cookie = await session_cookie(world.user("stranger"))
    for pattern in patterns:
        for ref in container_refs(objects).values():
            path = "/" + pattern.replace(pattern[pattern.index("<"):pattern.index(">") + 1],
                                         ref, 1)
            communicator = WebsocketCommunicator(
                application, path, headers=[(b"origin", b"http://localhost"),
                                            (b"cookie", f"sessionid={cookie}".encode())])
            connected, _ = await communicator.connect(timeout=3)
            assert not connected, path
            await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_events_socket_carries_nothing_of_alpha_to_a_stranger():
    from console.asgi import application
    from console.streams import publish

    world, objects = await make_objects()
    cookie = await session_cookie(world.user("stranger"))
    communicator = WebsocketCommunicator(
        application, "/ws/events/", headers=[(b"origin", b"http://localhost"),
                                             (b"cookie", f"sessionid={cookie}".encode())])
    connected, _ = await communicator.connect(timeout=3)
    assert connected

    @database_sync_to_async
    def publish_alpha():
        publish.container_changed(objects.web)
        publish.job_changed(objects.job)
    await publish_alpha()
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
