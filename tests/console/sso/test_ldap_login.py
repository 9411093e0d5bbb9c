"""LDAP login against Debian's slapd, started by the tests on a loopback port: through the
login form and the token endpoint, beside the local accounts; the account made at the first
login; the groups mapped to team roles at every login; the login limits and the audit log
covering it like any password login."""
import pytest
from django.contrib.auth import get_user_model

from console.accounts.models import LoginPolicy
from console.audit.models import AuditEntry
from console.core.testing import PASSWORD
from console.sso.models import DirectoryIdentity, GroupMapping
from console.teams.models import Membership

pytestmark = pytest.mark.django_db

_people = iter(range(1000))


def person(directory, password="directory password", groups=()):
    """A new person in the directory (the directory lives for the module), in `groups`."""
    uid = f"ldapuser{next(_people)}"
    directory.add_person(uid, password)
    for group in groups:
        directory.add_group(f"{group}-{uid}", uid)
    return uid


def log_in(client, username, password="directory password"):
    return client.post("/login/", {"username": username, "password": password})


def roles_of(username):
    return dict(Membership.objects.filter(user__username=username)
                .values_list("team__name", "role"))


def test_the_first_login_makes_the_account_and_maps_its_groups(world, client, ldap_console):
    uid = person(ldap_console, groups=["devs"])
    GroupMapping.objects.create(source="ldap", group=f"devs-{uid}", team=world.teams["alpha"],
                                role="operator")
    answer = log_in(client, uid)
    assert answer.status_code == 302 and answer["Location"] == "/"
    user = get_user_model().objects.get(username=uid)
    assert user.email == f"{uid}@directory.test" and not user.has_usable_password()
    assert DirectoryIdentity.objects.filter(user=user, source="ldap", subject=uid).exists()
    assert roles_of(uid) == {"alpha": "operator"}
    assert AuditEntry.objects.get(action="auth.login", actor=user).params == {
        "method": "password"}


def test_a_group_named_by_its_dn_maps_too(world, client, ldap_console):
    uid = person(ldap_console, groups=["ops"])
    dn = f"cn=ops-{uid},{ldap_console.GROUPS}"
    GroupMapping.objects.create(source="ldap", group=dn.upper(), team=world.teams["beta"],
                                role="viewer")
    log_in(client, uid)
    assert roles_of(uid) == {"beta": "viewer"}


def test_a_later_login_after_the_group_changed_takes_the_role_away(
        world, client, ldap_console, listen, django_capture_on_commit_callbacks):
    uid = person(ldap_console, groups=["devs"])
    GroupMapping.objects.create(source="ldap", group=f"devs-{uid}", team=world.teams["alpha"],
                                role="developer")
    log_in(client, uid)
    assert roles_of(uid) == {"alpha": "developer"}
    told = listen(get_user_model().objects.get(username=uid))

    ldap_console.set_members(f"devs-{uid}")                  # removed from the group
    client.post("/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        assert log_in(client, uid).status_code == 302
    assert roles_of(uid) == {}
    assert {"type": "permissions.changed"} in told()
    entry = AuditEntry.objects.get(action="team.member.remove", target_name=uid)
    assert entry.team_name == "alpha" and entry.params["by"] == "ldap groups"


def test_a_local_account_is_not_taken_over_by_the_directory(world, client, ldap_console):
    ldap_console.add_person("developer", "the directory's password")
    answer = log_in(client, "developer", "the directory's password")
    assert answer.status_code == 200                           # the form again
    entry = AuditEntry.objects.filter(action="auth.login", result="failed").latest("pk")
    assert "an account the directory did not make" in entry.error
    assert not DirectoryIdentity.objects.exists()
    assert log_in(client, "developer", PASSWORD).status_code == 302   # its own password


def test_wrong_directory_passwords_count_in_the_login_limits(world, client, ldap_console,
                                                             settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    uid = person(ldap_console)
    for _ in range(2):
        assert log_in(client, uid, "wrong").status_code == 200
    refused = log_in(client, uid)                              # the right one, too late
    assert refused.status_code == 200 and b"Too many failed attempts" in refused.content
    assert not get_user_model().objects.filter(username=uid).exists()
    assert list(AuditEntry.objects.filter(target_name=uid).values_list("result", flat=True)
                .order_by("pk")) == ["failed", "failed", "denied"]


def test_a_token_with_a_directory_password(world, client, ldap_console):
    uid = person(ldap_console)
    answer = client.post("/api/auth/token/", {"username": uid, "password": "directory password"},
                         content_type="application/json")
    assert answer.status_code == 201
    assert client.get("/api/containers/",
                      HTTP_AUTHORIZATION=f"Token {answer.json()['token']}").status_code == 200


def test_with_local_accounts_off_the_directory_and_the_break_glass_account_log_in(
        world, ldap_console):
    from django.test import Client

    LoginPolicy.objects.create(pk=1, local_accounts=False)
    assert log_in(Client(), "viewer", PASSWORD).status_code == 200
    entry = AuditEntry.objects.filter(action="auth.login", result="failed").latest("pk")
    assert entry.error == "local accounts are turned off"
    assert log_in(Client(), person(ldap_console)).status_code == 302
    assert log_in(Client(), "root", PASSWORD).status_code == 302         # the first superuser


def test_a_directory_that_cannot_be_reached_says_so(world, client, ldap_console, settings):
    from tests.stack import free_port

    settings.AUTH_LDAP_SERVER_URI = f"ldap://127.0.0.1:{free_port()}"
    assert log_in(client, "someone").status_code == 200
    entry = AuditEntry.objects.filter(action="auth.login", result="failed").latest("pk")
    assert entry.error.startswith("the LDAP directory failed"), entry.error
    assert log_in(client, "viewer", PASSWORD).status_code == 302     # local accounts still do
