"""What the audit log tells a requester about what their refused request hit: nothing.

A viewer of team alpha probes team zephyr's container by every hex prefix and team zephyr
by number. Each attempt is a 404 and is audited, but the entry keeps only what was asked (the
path and the reference as typed): no team, no host, no resolved ID, no name. The viewer reads
their own refusals through the API, the page, the exports and the filters and learns nothing
of zephyr; a superuser sees who probed what. Entries an actor caused in a team they cannot
see (older entries, or teams they left) are not theirs to read either."""
import json
import string

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from console import audit
from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.testing import make_container
from console.hosts.models import Host, HostGrant
from console.teams.models import Team
from tests.console.streams_fixtures import make_world, open_socket

SECRET_TEAM, SECRET_NAME, SECRET_HOST = "zephyr-ops", "zephyr-vault", "zephyr-host"


@pytest.fixture
def zephyr(world):
    """A team the viewer is not in, with a container on a host of its own."""
    team = Team.objects.create(name=SECRET_TEAM)
    host = Host.objects.create(name=SECRET_HOST, state="online", last_seen=timezone.now())
    HostGrant.objects.create(team=team, host=host)
    container = make_container(host, team, SECRET_NAME)
    return team, container


def secrets_of(zephyr) -> list[str]:
    team, container = zephyr
    return [SECRET_TEAM, SECRET_NAME, SECRET_HOST, container.engine_id[:12]]


def everything_the_viewer_reads(client) -> str:
    """The audit log as the viewer can read it: API list and each entry, page, exports."""
    listing = client.get("/api/audit/?page_size=500")
    assert listing.status_code == 200
    parts = [listing.content.decode(), client.get("/audit/?page_size=500").content.decode()]
    for entry in listing.json()["results"]:
        parts.append(client.get(f"/api/audit/{entry['id']}/").content.decode())
        parts.append(client.get(f"/audit/{entry['id']}/").content.decode())
    for kind in ("csv", "json"):
        parts.append(b"".join(client.get(f"/api/audit/export/{kind}/").streaming_content)
                     .decode())
        parts.append(b"".join(client.get(f"/audit/export/{kind}/").streaming_content).decode())
    return "\n".join(parts)


def test_prefix_probing_reveals_nothing(world, zephyr, client_for, sent):
    viewer = client_for("viewer")
    for prefix in string.hexdigits[:16]:
        answer = viewer.post(f"/api/containers/{prefix}/stop/", {},
                             content_type="application/json")
        assert answer.status_code in (403, 404)     # 403: alpha's own container "web"
    assert sent == []
    seen = everything_the_viewer_reads(viewer)
    # The viewer's own refusals are there (those of a prefix of no container of theirs).
    own = [c.engine_id for c in Container.objects.restrict(world.user("viewer"), "view")]
    probe = next(p for p in string.hexdigits[:16] if not any(i.startswith(p) for i in own))
    assert f"/api/containers/{probe}/stop/" in seen
    for secret in secrets_of(zephyr):
        assert secret not in seen, secret


def test_a_probe_hitting_something_reads_like_one_hitting_nothing(world, zephyr, client_for):
    viewer = client_for("viewer")
    hidden, missing = zephyr[1].engine_id[:6], "0" * 6
    if hidden == missing:
        missing = "1" * 6
    for ref in (hidden, missing):
        viewer.post(f"/api/containers/{ref}/kill/", {}, content_type="application/json")
    entries = viewer.get("/api/audit/?action=container.kill").json()["results"]
    assert len(entries) == 2
    shapes = [{key: value.replace(ref, "?") if isinstance(value, str) else value
               for key, value in entry.items() if key not in ("id", "time")}
              for entry, ref in zip(entries, (missing, hidden), strict=True)]
    shapes = [dict(shape, params={k: v.replace(ref, "?") for k, v in shape["params"].items()})
              for shape, ref in zip(shapes, (missing, hidden), strict=True)]
    assert shapes[0] == shapes[1]
    assert entries[0]["team"] == "" and entries[0]["host"] == "" and entries[0]["target_id"] == ""


def test_numeric_team_patch_reveals_no_team_name(world, client_for, sent):
    viewer = client_for("viewer")
    names = {team.pk: team.name for team in Team.objects.all()}
    for number in range(1, max(names) + 3):
        answer = viewer.patch(f"/api/teams/{number}/", {"description": "x"},
                              content_type="application/json")
        assert answer.status_code in (403, 404)
        viewer.post(f"/teams/{number}/members/", {"user": "viewer", "role": "admin"})
    seen = everything_the_viewer_reads(viewer)
    assert "beta" not in seen
    assert f"/api/teams/{world.teams['beta'].pk}/" in seen


def test_the_superuser_sees_who_probed_what(world, zephyr, client_for):
    client_for("viewer").post(f"/api/containers/{zephyr[1].engine_id[:5]}/restart/", {},
                              content_type="application/json")
    client_for("viewer").patch(f"/api/teams/{zephyr[0].pk}/", {"description": "x"},
                               content_type="application/json")
    root = client_for("superuser")
    restart = root.get("/api/audit/?action=container.restart").json()["results"]
    assert [(e["actor"], e["result"], e["target_name"]) for e in restart] == [
        ("viewer", "denied", zephyr[1].engine_id[:5])]
    assert restart[0]["params"] == {
        "path": f"/api/containers/{zephyr[1].engine_id[:5]}/restart/",
        "reference": zephyr[1].engine_id[:5]}
    settings = root.get("/api/audit/?action=team.settings&user=viewer").json()["results"]
    assert [(e["team"], e["target_name"], e["params"]["reference"]) for e in settings] == [
        ("", str(zephyr[0].pk), str(zephyr[0].pk))]
    assert str(zephyr[0].pk) in root.get("/audit/?user=viewer").content.decode()


def test_own_entries_in_a_team_one_cannot_see_are_not_ones_own_to_read(world, zephyr,
                                                                        client_for):
    """An entry the viewer caused that names a hidden team (written before refusals were
    recorded as typed, or in a team the viewer has since left) stays hidden from them."""
    team, container = zephyr
    old = audit.record("container.stop", actor=world.user("viewer"), team=team,
                       target=container, host=container.host, result="denied")
    left = audit.record("container.start", actor=world.user("viewer"), target=container,
                        host=container.host, result="denied")
    viewer = client_for("viewer")
    for entry in (old, left):
        assert viewer.get(f"/api/audit/{entry.pk}/").status_code == 404
        assert viewer.get(f"/audit/{entry.pk}/").status_code == 404
    seen = everything_the_viewer_reads(viewer)
    for secret in secrets_of(zephyr):
        assert secret not in seen, secret
    assert viewer.get(f"/api/audit/?team={SECRET_TEAM}").json()["count"] == 0
    page = viewer.get("/audit/").content.decode()
    assert f'<option value="{SECRET_TEAM}"' not in page


def test_refused_grants_commits_and_image_tags_keep_only_what_was_typed(world, zephyr,
                                                                       client_for):
    viewer = client_for("viewer")
    ref = zephyr[1].engine_id[:8]
    assert viewer.post("/api/grants/", {"user": "viewer", "container": ref,
                                        "actions": ["start"]},
                       content_type="application/json").status_code == 404
    image = world.images["h2"]
    for url in (f"/api/images/{image.image_id[:15]}/tag/", f"/api/images/{image.pk}/tag/"):
        assert viewer.post(url, {"repository": "x/y"},
                           content_type="application/json").status_code == 404
    assert viewer.post(f"/containers/{ref}/commit/", {"repository": "x/y"}).status_code == 404
    seen = everything_the_viewer_reads(viewer)
    for secret in secrets_of(zephyr) + [image.image_id[7:19]]:
        assert secret not in seen, secret
    refused = AuditEntry.objects.filter(actor_name="viewer", result="denied")
    assert refused.count() == 4
    assert set(refused.values_list("team_name", "host_name", "target_id")) == {("", "", "")}


@pytest.mark.django_db(transaction=True)
async def test_a_refused_terminal_records_only_the_path():
    world = await make_world()
    beta = world.containers["other"]
    path = f"/ws/containers/{beta.engine_id[:10]}/terminal/"
    communicator, connected, code = await open_socket(path, world.user("viewer"))
    assert not connected and code == 4404

    @database_sync_to_async
    def refusals():
        return list(AuditEntry.objects.filter(result="denied").values(
            "action", "team_name", "host_name", "target_id", "target_name", "params"))
    assert await refusals() == [{"action": "container.terminal", "team_name": "",
                                 "host_name": "", "target_id": "",
                                 "target_name": beta.engine_id[:10],
                                 "params": {"path": path, "reference": beta.engine_id[:10]}}]
    assert json.dumps(await refusals()).count("other") == 0


def test_a_member_who_may_not_manage_learns_no_usernames(world, client_for):
    """Refused first, before the user named is looked up: "no such user" against 403 would
    tell a viewer which usernames exist in other teams."""
    viewer, web = client_for("viewer"), world.containers["web"]
    team_url = f"/api/teams/{world.teams['alpha'].pk}/members/"
    for username in ("stranger", "nobody-at-all"):
        answers = [
            viewer.post("/api/grants/", {"user": username, "container": web.engine_id,
                                         "actions": ["start"]},
                        content_type="application/json"),
            viewer.post(team_url, {"user": username, "role": "viewer"},
                        content_type="application/json"),
            viewer.delete(f"{team_url}{username}/"),
        ]
        assert [a.status_code for a in answers] == [403, 403, 403], username
    entries = AuditEntry.objects.filter(actor_name="viewer", result="denied")
    assert "nobody-at-all" not in str(list(entries.values()))


def test_a_taken_name_does_not_say_which_other_team_holds_it(world, zephyr, client_for):
    """Image names belong to a host: a developer may learn a name is taken there, not by
    which team they cannot see."""
    from console.images.models import Image

    team, container = zephyr
    HostGrant.objects.create(team=world.teams["alpha"], host=container.host)
    Image.objects.create(host=container.host, team=team, image_id="sha256:" + "ab" * 32,
                         tags=["vault/app:1"], size=1, created=timezone.now())
    mine = make_container(container.host, world.teams["alpha"], "mine")
    answer = client_for("developer").post(f"/api/containers/{mine.engine_id}/commit/",
                                          {"repository": "vault/app", "tag": "1"},
                                          content_type="application/json")
    assert answer.status_code == 403
    assert "another team" in str(answer.json()) and SECRET_TEAM not in str(answer.json())
    seen = everything_the_viewer_reads(client_for("developer"))
    assert SECRET_TEAM not in seen
