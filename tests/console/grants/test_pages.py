"""Per-container grants on the container page ("may start, stop and open a terminal on web and
nothing else")."""
import pytest

from console.audit.models import AuditEntry
from console.grants.models import ContainerGrant
from console.jobs.models import Job
from tests.console.pages import field_errors
from tests.console.streams_fixtures import drain


@pytest.fixture
def web(world):
    return world.containers["web"]


def test_team_admins_grant_and_other_members_ask(world, client_for, web):
    html = client_for("team_admin").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="grant-form"' in html and 'id="request-form"' not in html
    for persona in ("viewer", "operator", "developer"):
        html = client_for(persona).get(f"/containers/{web.engine_id}/").content.decode()
        assert 'id="grant-form"' not in html and 'id="request-form"' in html


def test_a_grant_lets_one_user_do_the_chosen_actions_and_nothing_else(
        world, client_for, web, sent, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from console.streams import groups

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.user_group(world.user("stranger").pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("team_admin").post(
            f"/containers/{web.engine_id}/grants/",
            {"user": "stranger", "actions": ["start", "stop", "terminal"]})
    assert response.status_code == 302
    grant = ContainerGrant.objects.get(user=world.user("stranger"), container=web)
    assert grant.actions == ["start", "stop", "terminal"]
    assert [m["type"] for m in drain(layer, channel)] == ["permissions.changed"]

    stranger = client_for("stranger")
    page = stranger.get(f"/containers/{web.engine_id}/").content.decode()
    assert "You may start, stop, terminal on this container" in page
    assert 'data-verb="stop"' in page and 'data-verb="kill"' not in page
    assert stranger.post(f"/containers/{web.engine_id}/stop/").status_code == 302
    assert stranger.post(f"/containers/{web.engine_id}/kill/").status_code == 403
    assert stranger.post(f"/containers/{web.engine_id}/remove/").status_code == 403
    assert stranger.post(f"/containers/{web.engine_id}/commit/",
                         {"repository": "beta/x"}).status_code == 403
    assert [job.kind for job in Job.objects.all()] == ["stop"]
    # The team's other pages stay closed to the grantee.
    assert stranger.get(f"/teams/{world.teams['alpha'].pk}/").status_code == 404


def test_granting_again_replaces_and_revoking_ends_access(world, client_for, web):
    admin = client_for("team_admin")
    admin.post(f"/containers/{web.engine_id}/grants/", {"user": "stranger",
                                                        "actions": ["start", "stop"]})
    admin.post(f"/containers/{web.engine_id}/grants/", {"user": "stranger", "actions": ["logs"]})
    grant = ContainerGrant.objects.get(user=world.user("stranger"), container=web)
    assert grant.actions == ["logs"]
    html = admin.get(f"/containers/{web.engine_id}/").content.decode()
    assert f'data-grant="{grant.pk}"' in html
    assert admin.post(f"/containers/{web.engine_id}/grants/{grant.pk}/revoke/").status_code == 302
    assert not ContainerGrant.objects.filter(pk=grant.pk).exists()
    assert client_for("stranger").get(f"/containers/{web.engine_id}/").status_code == 404
    assert [e.action for e in AuditEntry.objects.order_by("pk")] == [
        "container.grant", "container.grant", "container.revoke"]


@pytest.mark.parametrize("data,expected", [
    ({"user": "nobody", "actions": ["start"]}, ["No such user: nobody."]),
    ({"user": "stranger"}, ["Choose at least one action."]),
    ({"user": "stranger", "actions": ["fly"]},
     ["Select a valid choice. fly is not one of the available choices."]),
])
def test_grant_errors_are_beside_their_fields(world, client_for, web, data, expected):
    response = client_for("team_admin").post(f"/containers/{web.engine_id}/grants/", data)
    assert response.status_code == 400
    assert field_errors(response.content.decode()) == expected
    assert not ContainerGrant.objects.exists()


def test_only_team_admins_grant_and_revoke(world, client_for, web):
    for persona in ("viewer", "operator", "developer"):
        response = client_for(persona).post(f"/containers/{web.engine_id}/grants/",
                                            {"user": persona, "actions": ["kill"]})
        assert response.status_code == 403
    grant = ContainerGrant.objects.create(user=world.user("stranger"), container=web,
                                          actions=["start"])
    # The grantee sees the container, but may not take away (or widen) their own grant.
    assert client_for("stranger").post(
        f"/containers/{web.engine_id}/grants/{grant.pk}/revoke/").status_code == 403
    assert client_for("stranger").post(f"/containers/{web.engine_id}/grants/",
                                       {"user": "stranger", "actions": ["kill"]}) \
        .status_code == 403
    assert ContainerGrant.objects.get(pk=grant.pk).actions == ["start"]
    other = world.containers["other"]
    assert client_for("team_admin").post(
        f"/containers/{other.engine_id}/grants/{grant.pk}/revoke/").status_code == 404
    # Five refusals, and the attempt on beta's container, which alpha's admin cannot see.
    assert AuditEntry.objects.filter(result="denied").count() == 6
