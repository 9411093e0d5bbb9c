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
