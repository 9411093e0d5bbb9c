"""A container made with `moor` on a host comes without a team (only superusers see it); a
superuser gives it to a team granted that host, from the API or the container page. Audited;
refused to anyone else."""
import pytest

from console.audit.models import AuditEntry
from console.core.testing import make_container

pytestmark = pytest.mark.django_db


@pytest.fixture
def orphan(world):
    return make_container(world.hosts["h1"], None, "adopted")


def assign(client, container, team):
    return client.post(f"/api/containers/{container.engine_id}/team/", {"team": team},
                       content_type="application/json")


def test_a_superuser_gives_an_adopted_container_to_a_team(world, client_for, orphan):
    assert client_for("operator").get(f"/api/containers/{orphan.engine_id}/").status_code == 404
    answer = assign(client_for("superuser"), orphan, "alpha")
    assert answer.status_code == 200 and answer.json()["team"] == "alpha"
    orphan.refresh_from_db()
    assert orphan.team == world.teams["alpha"]
    assert client_for("operator").get(f"/api/containers/{orphan.engine_id}/").status_code == 200
    entry = AuditEntry.objects.get(action="container.assign")
    assert (entry.result, entry.team_name, entry.params) == (
        "succeeded", "alpha", {"team": "alpha", "previous": None})


def test_only_to_a_team_granted_the_host_and_only_by_superusers(world, client_for, orphan):
    answer = assign(client_for("superuser"), orphan, "beta")        # beta has h2, not h1
    assert answer.status_code == 400 and "not granted host h1" in answer.json()["team"][0]
    assert assign(client_for("superuser"), orphan, "nosuch").status_code == 400
    web = world.containers["web"]
    assert assign(client_for("team_admin"), web, "alpha").status_code == 403
    assert assign(client_for("stranger"), web, "beta").status_code == 404
    denied = AuditEntry.objects.filter(action="container.assign", result="denied")
    assert sorted(denied.values_list("actor_name", flat=True)) == ["stranger", "team_admin"]
    orphan.refresh_from_db()
    web.refresh_from_db()
    assert orphan.team is None and web.team.name == "alpha"


def test_the_page_offers_the_teams_of_the_host_to_superusers(world, client_for, orphan):
    url = f"/containers/{orphan.engine_id}/"
    page = client_for("superuser").get(url).content.decode()
    assert 'id="assign-form"' in page and "<option>alpha</option>" in page
    assert "<option>beta</option>" not in page
    answer = client_for("superuser").post(f"{url}team/", {"team": "alpha"})
    assert answer.status_code == 302
    orphan.refresh_from_db()
    assert orphan.team.name == "alpha"
    html = client_for("team_admin").get(url).content.decode()
    assert 'id="assign-form"' not in html
