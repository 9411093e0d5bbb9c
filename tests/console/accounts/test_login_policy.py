"""Local accounts off: nobody logs in with a password the console keeps, through the login
page, the token endpoint or the admin, except the break-glass account (the first superuser);
tokens made before keep working; the change is a superuser's, audited."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from console.accounts.models import ApiToken, LoginPolicy, break_glass_account_id
from console.audit.models import AuditEntry
from console.core.testing import PASSWORD

pytestmark = pytest.mark.django_db


def turn_local_accounts_off(client_for):
    answer = client_for("superuser").post("/login-settings/", {"local_accounts": ""})
    assert answer.status_code == 302
    assert not LoginPolicy.current().local_accounts


def test_only_the_break_glass_account_logs_in_locally(world, client_for):
    _, old_key = ApiToken.objects.create_for(world.user("operator"), "before")
    turn_local_accounts_off(client_for)
    refused = Client().post("/login/", {"username": "operator", "password": PASSWORD})
    assert refused.status_code == 200
    entry = AuditEntry.objects.filter(action="auth.login", target_name="operator").latest("pk")
    assert entry.result == "failed" and entry.error == "local accounts are turned off"
    token = Client().post("/api/auth/token/", {"username": "operator", "password": PASSWORD},
                          content_type="application/json")
    assert token.status_code == 401
    assert Client().get("/api/containers/",
                        HTTP_AUTHORIZATION=f"Token {old_key}").status_code == 200
    assert Client().post("/login/", {"username": "root",
                                     "password": PASSWORD}).status_code == 302
    assert AuditEntry.objects.get(action="settings.login").params == {
        "changed": {"local_accounts": False}, "previous": {"local_accounts": True}}


def test_the_break_glass_account_is_the_first_superuser(world):
    User = get_user_model()
    later = User.objects.create_superuser("later", "later@example.test", PASSWORD)
    assert break_glass_account_id() == world.user("superuser").pk
    LoginPolicy.objects.create(pk=1, local_accounts=False)
    assert Client().post("/login/", {"username": "later", "password": PASSWORD}).status_code \
        == 200
    User.objects.filter(pk=world.user("superuser").pk).update(is_active=False)
    assert break_glass_account_id() == later.pk


def test_only_superusers_change_the_login_settings(world, client_for):
    for persona in ("viewer", "team_admin", "stranger"):
        assert client_for(persona).post("/login-settings/",
                                        {"local_accounts": ""}).status_code == 403
    assert LoginPolicy.current().local_accounts and not LoginPolicy.objects.exists()
    assert AuditEntry.objects.filter(action="settings.login", result="denied").count() == 3
