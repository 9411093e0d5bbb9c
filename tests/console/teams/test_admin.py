"""The admin site (superusers only) manages users and teams without a shell, and every change
made there is audited like the same change through the API."""
from console.audit.models import AuditEntry
from console.teams.models import Membership


def test_only_superusers_reach_the_admin(world, client_for):
    assert client_for("team_admin").get("/admin/").status_code == 302
    assert client_for("superuser").get("/admin/").status_code == 200
    for url in ("/admin/auth/user/", "/admin/teams/team/", "/admin/hosts/host/",
                "/admin/audit/auditentry/", f"/admin/teams/team/{world.teams['alpha'].pk}/change/"):
        assert client_for("superuser").get(url).status_code == 200, url


def test_adding_a_user_and_a_member_in_the_admin_is_audited(world, client_for):
    client = client_for("superuser")
    response = client.post("/admin/auth/user/add/", {
        "username": "newcomer", "password1": "a fine long password 1",
        "password2": "a fine long password 1", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    team = world.teams["alpha"]
    members = list(team.memberships.order_by("pk"))
    grants = list(team.host_grants.all())
    data = {"name": "alpha", "description": "",
            "memberships-TOTAL_FORMS": str(len(members) + 1),
            "memberships-INITIAL_FORMS": str(len(members)),
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
            "host_grants-TOTAL_FORMS": str(len(grants)),
            "host_grants-INITIAL_FORMS": str(len(grants)),
            "host_grants-MIN_NUM_FORMS": "0", "host_grants-MAX_NUM_FORMS": "1000"}
    for i, member in enumerate(members):
        data.update({f"memberships-{i}-id": member.pk, f"memberships-{i}-team": team.pk,
                     f"memberships-{i}-user": member.user_id,
                     f"memberships-{i}-role": member.role})
    from django.contrib.auth import get_user_model

    newcomer = get_user_model().objects.get(username="newcomer")
    i = len(members)
    data.update({f"memberships-{i}-team": team.pk, f"memberships-{i}-user": newcomer.pk,
                 f"memberships-{i}-role": "operator"})
    for j, grant in enumerate(grants):
        data.update({f"host_grants-{j}-id": grant.pk, f"host_grants-{j}-team": team.pk,
                     f"host_grants-{j}-host": grant.host_id})
    response = client.post(f"/admin/teams/team/{team.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Membership.objects.get(user=newcomer, team=team).role == "operator"
    actions = set(AuditEntry.objects.values_list("action", "target_name"))
    assert ("user.create", "newcomer") in actions
    assert ("team.member.add", "newcomer") in actions


def test_admin_changes_reach_open_sockets_once_committed(world, client_for, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    """A socket re-checks when told; told before the admin's transaction commits, it would read
    the old membership and keep a removed member's terminal open."""
    from console.streams import publish

    told = []
    monkeypatch.setattr(publish, "permissions_changed", told.append)
    team, operator = world.teams["alpha"], world.user("operator")
    members = list(team.memberships.order_by("pk"))
    data = {"name": "alpha", "description": "",
            "memberships-TOTAL_FORMS": str(len(members)),
            "memberships-INITIAL_FORMS": str(len(members)),
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
            "host_grants-TOTAL_FORMS": "0", "host_grants-INITIAL_FORMS": "0",
            "host_grants-MIN_NUM_FORMS": "0", "host_grants-MAX_NUM_FORMS": "1000"}
    for i, member in enumerate(members):
        data.update({f"memberships-{i}-id": member.pk, f"memberships-{i}-team": team.pk,
                     f"memberships-{i}-user": member.user_id,
                     f"memberships-{i}-role": member.role})
        if member.user_id == operator.pk:
            data[f"memberships-{i}-DELETE"] = "on"
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for("superuser").post(f"/admin/teams/team/{team.pk}/change/", data)
        assert response.status_code == 302, response.content.decode()[:3000]
        assert told == []                                # nothing before the commit
    for callback in callbacks:
        callback()
    assert operator.pk in told
    assert not Membership.objects.filter(user=operator, team=team).exists()

    told.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for("superuser").post(f"/admin/auth/user/{operator.pk}/delete/", {"post": "yes"})
    assert told == [operator.pk]
