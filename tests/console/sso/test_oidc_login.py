"""OpenID Connect login against a real provider (django-oauth-toolkit, tests/oidc_provider/)
on loopback: the account made at the first login, the groups claim mapped to team roles at
every login, and every way it can fail audited and said on the login page."""
import pytest
from django.contrib.auth import get_user_model

from console.audit.models import AuditEntry
from console.sso.models import DirectoryIdentity, GroupMapping
from console.teams.models import Membership
from tests.console.sso.conftest import oidc_login

pytestmark = pytest.mark.django_db


def roles_of(username):
    return dict(Membership.objects.filter(user__username=username)
                .values_list("team__name", "role"))


def failure(reason_part):
    entry = AuditEntry.objects.filter(action="auth.login", result="failed").latest("pk")
    assert reason_part in entry.error, entry.error
    assert entry.params == {"method": "oidc"}
    return entry


def test_the_first_login_makes_the_account_and_maps_its_groups(world, client, oidc_console):
    superuser = world.user("superuser")
    GroupMapping.objects.create(source="oidc", group="devs", team=world.teams["alpha"],
                                role="developer", created_by=superuser)
    oidc_console.set_person("alice", "alice's password", groups=["devs", "unmapped"],
                            given_name="Alice")
    answer = oidc_login(client, oidc_console, "alice", "alice's password")
    assert answer.status_code == 302 and answer["Location"] == "/"
    alice = get_user_model().objects.get(username="alice")
    assert alice.first_name == "Alice" and not alice.has_usable_password()
    assert DirectoryIdentity.objects.filter(user=alice, source="oidc").exists()
    assert roles_of("alice") == {"alpha": "developer"}
    assert client.get("/").status_code == 200                 # logged in
    login = AuditEntry.objects.get(action="auth.login", actor=alice)
    assert login.result == "succeeded" and login.params == {"method": "oidc"}
    added = AuditEntry.objects.get(action="team.member.add", target_name="alice")
    assert added.team_name == "alpha" and added.params["by"] == "oidc groups"


def test_a_later_login_applies_the_groups_as_they_are_then(
        world, client, oidc_console, listen, django_capture_on_commit_callbacks):
    alpha, beta = world.teams["alpha"], world.teams["beta"]
    GroupMapping.objects.create(source="oidc", group="devs", team=alpha, role="developer")
    GroupMapping.objects.create(source="oidc", group="leads", team=alpha, role="admin")
    GroupMapping.objects.create(source="oidc", group="ops", team=beta, role="viewer")
    oidc_console.set_person("bob", "bob's password", groups=["devs", "leads"])
    oidc_login(client, oidc_console, "bob", "bob's password")
    assert roles_of("bob") == {"alpha": "admin"}              # the highest of his groups
    bob = get_user_model().objects.get(username="bob")
    told = listen(bob)

    oidc_console.set_person("bob", "bob's password", groups=["ops"])     # moved teams
    client.post("/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        oidc_login(client, oidc_console, "bob", "bob's password")
    assert roles_of("bob") == {"beta": "viewer"}
    assert {"type": "permissions.changed"} in told()          # his open sockets re-check
    removed = AuditEntry.objects.get(action="team.member.remove", target_name="bob")
    assert removed.team_name == "alpha" and removed.params["previous_role"] == "admin"
    assert DirectoryIdentity.objects.filter(user=bob).count() == 1   # the same account


def test_teams_no_mapping_names_are_left_alone(world, client, oidc_console):
    GroupMapping.objects.create(source="oidc", group="devs", team=world.teams["alpha"],
                                role="viewer")
    oidc_console.set_person("carol", "carol's password", groups=[])
    oidc_login(client, oidc_console, "carol", "carol's password")
    carol = get_user_model().objects.get(username="carol")
    Membership.objects.create(user=carol, team=world.teams["beta"], role="operator")
    client.post("/logout/")
    oidc_login(client, oidc_console, "carol", "carol's password")
    assert roles_of("carol") == {"beta": "operator"}


def test_a_local_account_is_never_opened_by_the_provider(world, client, oidc_console):
    """Neither by its username (refused) nor by its e-mail address (another account)."""
    oidc_console.set_person("viewer", "not the local password")
    answer = oidc_login(client, oidc_console, "viewer", "not the local password")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    failure("the username 'viewer' is another account's")
    assert not DirectoryIdentity.objects.exists()
    page = client.get("/login/")
    assert b"Single sign-on failed" in page.content

    oidc_console.set_person("eve", "eve's password", email="viewer@example.test")
    oidc_login(client, oidc_console, "eve", "eve's password")
    assert client.get("/").context["user"].username == "eve"


def test_the_provider_saying_no_is_audited(world, client, oidc_console):
    answer = client.get("/oidc/callback/?error=access_denied&error_description=not+you"
                        "&state=whatever")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    failure("the provider said access_denied not you")


def test_a_callback_of_no_login_of_ours_is_audited(world, client, oidc_console):
    answer = client.get("/oidc/callback/?code=stolen&state=guessed")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    failure("the login session expired")
    client.get("/oidc/authenticate/")                        # a login of ours, another state
    client.get("/oidc/callback/?code=stolen&state=guessed")
    failure("state not found")


def test_a_provider_that_cannot_be_reached_is_audited(world, client, oidc_console, settings):
    from console.sso import oidc
    from tests.stack import free_port

    oidc._discovery.clear()
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/o"
    answer = client.get("/oidc/authenticate/")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    failure("the provider cannot be reached")
    # Password logins do not depend on it.
    assert client.post("/login/", {"username": "viewer",
                                   "password": "correct horse battery staple"}).status_code == 302


def test_without_a_provider_its_pages_are_not_there(world, client):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert b"Sign in with" not in client.get("/login/").content


def test_the_login_page_offers_the_provider(world, client, oidc_console):
    page = client.get("/login/?next=/containers/")
    assert b"Sign in with Test IdP" in page.content
    assert b'href="/oidc/authenticate/?next=/containers/"' in page.content
