"""A member of team beta (`stranger`) tries every read and every action on team alpha's stack
and volume, through the pages and the API: each answer is the 404 a number that names nothing
gets, lists leave them out, nothing changes and no job is sent; each attempted action is
audited as denied, alike for the hidden and the missing, with only the reference as typed."""
import pytest

from tests.console.matrix_world import add_objects
from tests.console.test_idor import assert_invisible, assert_refusals_hold_only_what_was_typed

pytestmark = pytest.mark.usefixtures("recordings")


@pytest.fixture
def objects(world):
    return add_objects(world)


@pytest.fixture
def stranger(client_for):
    return client_for("stranger")


STACK_READS = [lambda r: f"/stacks/{r}/", lambda r: f"/stacks/{r}/history/",
               lambda r: f"/stacks/{r}/edit/", lambda r: f"/api/stacks/{r}/",
               lambda r: f"/api/stacks/{r}/versions/", lambda r: f"/api/stacks/{r}/grants/"]
STACK_ACTIONS = [
    ("post", lambda r, verb=verb: f"/stacks/{r}/{verb}/", f"stack.{verb}", None)
    for verb in ("start", "stop", "restart", "down")
] + [
    ("post", lambda r, verb=verb: f"/api/stacks/{r}/{verb}/", f"stack.{verb}", {})
    for verb in ("start", "stop", "restart", "down")
] + [
    ("post", lambda r: f"/stacks/{r}/edit/", "stack.deploy", {"compose": "services: {}"}),
    ("patch", lambda r: f"/api/stacks/{r}/", "stack.deploy", {"env": "A=1"}),
    ("post", lambda r: f"/stacks/{r}/versions/1/deploy/", "stack.deploy", None),
    ("post", lambda r: f"/api/stacks/{r}/versions/1/deploy/", "stack.deploy", {}),
    ("post", lambda r: f"/stacks/{r}/remove/", "stack.remove", {"volumes": "1"}),
    ("delete", lambda r: f"/api/stacks/{r}/?volumes=1", "stack.remove", None),
    ("post", lambda r: f"/stacks/{r}/grants/", "stack.grant",
     {"user": "stranger", "actions": ["start"]}),
    ("post", lambda r: f"/api/stacks/{r}/grants/", "stack.grant",
     {"user": "stranger", "actions": ["start"]}),
]


@pytest.mark.parametrize("url", STACK_READS)
def test_stack_reads(objects, stranger, url):
    assert_invisible(stranger, "get", url, str(objects.stack.pk))


@pytest.mark.parametrize("method,url,action,body", STACK_ACTIONS)
def test_stack_actions_are_404_and_audited(objects, stranger, sent, method, url, action,
                                           body):
    ref = str(objects.stack.pk)
    unknown = assert_invisible(stranger, method, url, ref, body, sent)
    assert_refusals_hold_only_what_was_typed(action, [ref, unknown])


@pytest.mark.parametrize("method,url", [
    ("post", "/stacks/{ref}/grants/{grant}/revoke/"),
    ("delete", "/api/stacks/{ref}/grants/{grant}/"),
])
def test_revoking_a_grant_on_alphas_stack_is_404_and_audited(objects, stranger, sent, method,
                                                             url):
    ref, grant = str(objects.stack.pk), objects.stack_grant.pk
    unknown = assert_invisible(stranger, method,
                               lambda r: url.format(ref=r, grant=grant), ref, None, sent)
    assert_refusals_hold_only_what_was_typed("stack.revoke", [ref, unknown])


def test_the_editors_check_of_alphas_stack_is_404(objects, stranger):
    answer = stranger.post("/api/stacks/check/", {"stack": objects.stack.pk,
                                                  "compose": "services: {}"},
                           content_type="application/json")
    assert answer.status_code == 404


def test_stack_lists_leave_alphas_out(objects, stranger):
    assert stranger.get("/api/stacks/").json()["count"] == 0
    assert stranger.get("/api/stacks/?team=alpha").json()["count"] == 0
    assert f"/stacks/{objects.stack.pk}/" not in stranger.get("/stacks/").content.decode()
    assert stranger.get("/api/jobs/?kind=stack.deploy").json()["count"] == 0


@pytest.mark.parametrize("method,url,action,body", [
    ("get", lambda r: f"/api/volumes/{r}/", None, None),
    ("delete", lambda r: f"/api/volumes/{r}/", "volume.remove", None),
    ("post", lambda r: f"/volumes/{r}/remove/", "volume.remove", None),
])
def test_volumes(objects, stranger, sent, method, url, action, body):
    ref = str(objects.volume.pk)
    unknown = assert_invisible(stranger, method, url, ref, body, sent)
    if action:
        assert_refusals_hold_only_what_was_typed(action, [ref, unknown])


def test_volume_lists_leave_alphas_out(objects, stranger):
    assert stranger.get("/api/volumes/").json()["count"] == 0
    assert "alpha-data" not in stranger.get("/volumes/").content.decode()


def test_a_stack_cannot_take_alphas_volume_or_host(objects, stranger):
    text = ("services:\n  web:\n    image: busybox\n    volumes: ['d:/srv']\nvolumes:\n  d:\n"
            "    external: true\n    name: alpha-data\n")
    answer = stranger.post("/api/stacks/", {"name": "grab", "host": "h2", "compose": text},
                           content_type="application/json")
    assert answer.status_code == 400
    assert "no such volume: alpha-data (on host h2)" in answer.json()["compose"][0]
    answer = stranger.post("/api/stacks/", {"name": "grab", "host": "h1", "team": "beta",
                                            "compose": text}, content_type="application/json")
    assert answer.status_code == 400 and "host" in answer.json()
    answer = stranger.post("/api/containers/", {"image": "busybox", "host": "h2",
                                                "binds": ["alpha-data:/srv"]},
                           content_type="application/json")
    assert answer.status_code == 202      # h2 has no volume of that name: a new one, beta's
