"""Two-factor login: an authenticator set up from its QR code and a code computed as the app
computes it; the second factor asked after the password, for pages, the API and websockets;
recovery codes, each good once; codes counted by the login limits; who must have one (a
team, everyone, superusers); and tokens, which need a fresh second factor."""
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.accounts import two_factor
from console.accounts.models import ApiToken, LoginPolicy, TeamTwoFactorRequirement
from console.audit.models import AuditEntry
from console.core.testing import PASSWORD
from tests.console.accounts.two_factor_helpers import (
    app_code,
    next_code,
    secret_on_page,
    set_up_authenticator,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_device_throttling(settings):
    """django-otp slows a device down after a wrong code (seconds); these tests try a right
    one right after a wrong one. The login limits still count."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def logged_in(username):
    client = Client()
    answer = client.post("/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer
    return client


def verified(username, user):
    client = logged_in(username)
    assert client.post("/account/two-factor/verify/", {"code": next_code(user)}).status_code \
        == 302
    return client


def results(action, username):
    return list(AuditEntry.objects.filter(action=action, target_name=username)
                .order_by("pk").values_list("result", flat=True))


def test_setting_up_an_authenticator_from_its_qr_code(world, client_for):
    import io

    import segno

    operator = world.user("operator")
    client = client_for("operator")
    page = client.get("/account/two-factor/set-up/")
    assert page.status_code == 200 and b'src="/account/two-factor/qr.svg"' in page.content
    key = secret_on_page(page.content.decode())
    qr = client.get("/account/two-factor/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<script" not in qr.content
    expected = io.BytesIO()           # the QR code of the secret the page shows, for this user
    segno.make(two_factor.provisioning_uri(operator, key), error="m").save(
        expected, kind="svg", scale=5, border=2, xmldecl=False)
    assert qr.content == expected.getvalue()
    assert "otpauth://totp/Moorage%3Aoperator?secret=" in two_factor.provisioning_uri(operator,
                                                                                      key)

    wrong = client.post("/account/two-factor/set-up/", {"code": "000000"
                                                        if app_code(key) != "000000" else "1"})
    assert wrong.status_code == 400 and not TOTPDevice.objects.exists()
    done = client.post("/account/two-factor/set-up/", {"code": app_code(key)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    device = TOTPDevice.objects.get(user=operator)
    assert device.confirmed and device.key == key
    assert results("auth.two_factor.enrol", "operator") == ["failed", "succeeded"]
    assert AuditEntry.objects.get(action="auth.two_factor.enrol", result="succeeded",
                                  target_name="operator").actor == operator
    assert client.get("/").status_code == 200          # this session passed its second factor
    # The page and the QR code no longer offer a secret once one is set up.
    assert client.get("/account/two-factor/set-up/").status_code == 302


def test_after_the_password_only_the_second_factor_pages_answer(world):
    operator = world.user("operator")
    set_up_authenticator(operator)
    client = logged_in("operator")
    for path in ("/", "/containers/", "/account/tokens/", "/admin/"):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer["Location"].startswith("/account/two-factor/verify/?next="), path
    api = client.get("/api/containers/")
    assert api.status_code == 403 and "second factor" in api.json()["detail"]
    assert client.get("/account/two-factor/verify/").status_code == 200

    wrong = client.post("/account/two-factor/verify/", {"code": "12345x"})
    assert wrong.status_code == 400 and b"not right" in wrong.content
    right = client.post("/account/two-factor/verify/", {"code": next_code(operator),
                                                        "next": "/containers/"})
    assert right.status_code == 302 and right["Location"] == "/containers/"
    assert client.get("/").status_code == 200
    assert client.get("/api/containers/").status_code == 200
    assert results("auth.two_factor", "operator") == ["failed", "succeeded"]
    assert client.post("/logout/").status_code == 302


def test_a_code_is_good_once(world):
    operator = world.user("operator")
    set_up_authenticator(operator)
    code = next_code(operator)
    first = logged_in("operator")
    assert first.post("/account/two-factor/verify/", {"code": code}).status_code == 302
    again = logged_in("operator")
    assert again.post("/account/two-factor/verify/", {"code": code}).status_code == 400


def test_a_recovery_code_stands_in_once(world):
    developer = world.user("developer")
    codes = set_up_authenticator(developer)
    client = logged_in("developer")
    assert client.post("/account/two-factor/verify/", {"code": codes[3].upper()}).status_code \
        == 302
    assert client.get("/").status_code == 200
    assert two_factor.recovery_codes_left(developer) == 9
    entry = AuditEntry.objects.get(action="auth.two_factor", result="succeeded")
    assert entry.params == {"with": "recovery code"}
    other = logged_in("developer")
    assert other.post("/account/two-factor/verify/", {"code": codes[3]}).status_code == 400
    assert other.get("/").status_code == 302


def test_codes_count_in_the_login_limits_which_a_right_password_does_not_clear(world,
                                                                              settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    operator = world.user("operator")
    set_up_authenticator(operator)
    client = logged_in("operator")
    for _ in range(2):
        assert client.post("/account/two-factor/verify/", {"code": "000001"}).status_code \
            == 400
    client = logged_in("operator")                         # the password again: still counts
    assert client.post("/account/two-factor/verify/", {"code": "000002"}).status_code == 400
    blocked = client.post("/account/two-factor/verify/", {"code": next_code(operator)})
    assert blocked.status_code == 400 and b"Too many failed attempts" in blocked.content
    assert client.get("/").status_code == 302
    assert results("auth.two_factor", "operator") == ["failed", "failed", "failed", "denied"]


def test_a_team_that_requires_it_sends_its_members_to_set_one_up(world, client_for):
    alpha = world.teams["alpha"]
    assert client_for("operator").post(f"/teams/{alpha.pk}/two-factor/",
                                       {"required": "on"}).status_code == 403
    assert client_for("stranger").post(f"/teams/{alpha.pk}/two-factor/",
                                       {"required": "on"}).status_code == 404
    assert not TeamTwoFactorRequirement.objects.exists()
    admin = client_for("team_admin")
    assert admin.post(f"/teams/{alpha.pk}/two-factor/", {"required": "on"}).status_code == 302
    assert TeamTwoFactorRequirement.objects.get().team == alpha
    assert AuditEntry.objects.get(action="team.two_factor", result="succeeded").params == {
        "required": True}

    viewer = logged_in("viewer")
    answer = viewer.get("/containers/")
    assert answer.status_code == 302 and answer["Location"].startswith(
        "/account/two-factor/set-up/")
    page = viewer.get("/account/two-factor/set-up/")
    assert b"required of you (team alpha)" in page.content
    assert viewer.get("/api/containers/").status_code == 403
    assert logged_in("stranger").get("/containers/").status_code == 200     # beta: not asked
    # The team admin's own session now owes it too: they set one up to go on.
    assert admin.get("/").status_code == 302
    key = secret_on_page(admin.get("/account/two-factor/set-up/").content.decode())
    assert admin.post("/account/two-factor/set-up/", {"code": app_code(key)}).status_code == 200
    assert admin.post(f"/teams/{alpha.pk}/two-factor/", {}).status_code == 302
    assert not TeamTwoFactorRequirement.objects.exists()
    assert viewer.get("/containers/").status_code == 200


def test_the_login_policy_for_everyone_and_for_superusers(world, client_for):
    assert client_for("team_admin").get("/login-settings/").status_code == 403
    assert client_for("team_admin").post("/login-settings/", {
        "local_accounts": "on", "two_factor_for_everyone": "on"}).status_code == 403
    root = client_for("superuser")
    assert root.get("/login-settings/").status_code == 200
    assert root.post("/login-settings/", {"local_accounts": "on",
                                          "two_factor_for_superusers": "on"}).status_code == 302
    policy = LoginPolicy.current()
    assert policy.two_factor_for_superusers and not policy.two_factor_for_everyone
    entry = AuditEntry.objects.get(action="settings.login", result="succeeded")
    assert entry.params["changed"] == {"two_factor_for_superusers": True}
    assert logged_in("root").get("/").status_code == 302
    assert logged_in("viewer").get("/").status_code == 200
    LoginPolicy.objects.filter(pk=1).update(two_factor_for_everyone=True)
    assert logged_in("viewer").get("/").status_code == 302


def test_the_token_endpoint_needs_the_code_of_who_has_a_second_factor(world, client):
    operator = world.user("operator")
    set_up_authenticator(operator)
    body = {"username": "operator", "password": PASSWORD}
    missing = client.post("/api/auth/token/", body, content_type="application/json")
    assert missing.status_code == 401 and missing.json()["otp_required"] is True
    wrong = client.post("/api/auth/token/", {**body, "otp": "000000"
                                             if next_code(operator) != "000000" else "000001"},
                        content_type="application/json")
    assert wrong.status_code == 401 and not ApiToken.objects.exists()
    right = client.post("/api/auth/token/", {**body, "otp": next_code(operator)},
                        content_type="application/json")
    assert right.status_code == 201
    assert list(AuditEntry.objects.filter(action="token.create").order_by("pk")
                .values_list("result", flat=True)) == ["denied", "denied", "succeeded"]


def test_who_must_have_one_and_has_none_gets_no_token(world, client):
    LoginPolicy.objects.create(pk=1, two_factor_for_everyone=True)
    answer = client.post("/api/auth/token/", {"username": "viewer", "password": PASSWORD},
                         content_type="application/json")
    assert answer.status_code == 401 and "set up an authenticator" in answer.json()["detail"]
    assert not ApiToken.objects.exists()


def test_a_token_does_not_make_a_token_without_a_code(world):
    operator = world.user("operator")
    set_up_authenticator(operator)
    _, key = ApiToken.objects.create_for(operator, "old")      # made before, still good
    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get("/api/containers/", **header).status_code == 200
    refused = client.post("/api/tokens/", {"name": "more"}, content_type="application/json",
                          **header)
    assert refused.status_code == 403 and ApiToken.objects.count() == 1
    made = client.post("/api/tokens/", {"name": "more", "otp": next_code(operator)},
                       content_type="application/json", **header)
    assert made.status_code == 201 and ApiToken.objects.count() == 2


def test_the_tokens_page_needs_a_second_factor_of_the_last_minutes(world, settings):
    operator = world.user("operator")
    set_up_authenticator(operator)
    client = verified("operator", operator)
    made = client.post("/account/tokens/", {"name": "fresh"})
    assert made.status_code == 200 and made.context["new_key"]
    session = client.session                                # some minutes later
    session[two_factor.VERIFIED_AT] = time.time() - settings.TWO_FACTOR_FRESH_SECONDS - 1
    session.save()
    page = client.get("/account/tokens/")
    assert page.context["needs_code"] and b'name="code"' in page.content
    refused = client.post("/account/tokens/", {"name": "stale"})
    assert refused.status_code == 400 and not refused.context["new_key"]
    api = client.post("/api/tokens/", {"name": "stale"}, content_type="application/json")
    assert api.status_code == 403
    made = client.post("/account/tokens/", {"name": "stale", "code": next_code(operator)})
    assert made.status_code == 200 and made.context["new_key"]
    assert ApiToken.objects.filter(user=operator).count() == 2


def test_removing_it_and_a_superuser_resetting_it(world, client_for):
    operator = world.user("operator")
    set_up_authenticator(operator)
    client = verified("operator", operator)
    assert client.post("/account/two-factor/remove/").status_code == 302     # fresh: no code
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert two_factor.recovery_codes_left(operator) == 0

    set_up_authenticator(operator)
    assert client_for("team_admin").post("/login-settings/reset-two-factor/",
                                         {"user": "operator"}).status_code == 403
    assert TOTPDevice.objects.filter(user=operator).exists()
    assert client_for("superuser").post("/login-settings/reset-two-factor/",
                                        {"user": "operator"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert AuditEntry.objects.get(action="user.two_factor.reset", result="succeeded")\
        .target_name == "operator"
    assert logged_in("operator").get("/").status_code == 200       # the password alone again


def test_one_it_is_required_of_cannot_remove_it(world):
    viewer = world.user("viewer")
    set_up_authenticator(viewer)
    TeamTwoFactorRequirement.objects.create(team=world.teams["alpha"])
    client = verified("viewer", viewer)
    client.post("/account/two-factor/remove/")
    assert TOTPDevice.objects.filter(user=viewer).exists()
    assert AuditEntry.objects.get(action="auth.two_factor.remove").result == "denied"


def test_new_recovery_codes_void_the_old_ones(world):
    viewer = world.user("viewer")
    old = set_up_authenticator(viewer)
    client = verified("viewer", viewer)
    page = client.post("/account/two-factor/recovery-codes/")
    new = page.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert two_factor.match(viewer, old[0]) is None
    assert two_factor.match(viewer, new[0]) is not None


def test_the_admin_site_logs_in_through_the_consoles_login(world, client):
    answer = client.get("/admin/login/?next=/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/?next=")


@pytest.mark.django_db(transaction=True)
async def test_a_session_that_owes_its_second_factor_opens_no_socket():
    from channels.db import database_sync_to_async
    from django_otp import DEVICE_ID_SESSION_KEY

    from console.core.testing import build_world
    from tests.console.streams_fixtures import open_socket, session_cookie

    @database_sync_to_async
    def operator_with_an_authenticator():
        operator = build_world().user("operator")
        set_up_authenticator(operator)
        return operator, TOTPDevice.objects.get(user=operator).persistent_id

    operator, device = await operator_with_an_authenticator()
    socket, connected, code = await open_socket("/ws/events/", operator)
    assert not connected and code == 4401
    key = await session_cookie(operator, **{DEVICE_ID_SESSION_KEY: device})
    socket, connected, _ = await open_socket("/ws/events/", operator, key=key)
    assert connected
    await socket.disconnect()


def test_an_open_socket_lapses_when_a_second_factor_becomes_required(world):
    from importlib import import_module

    from django.conf import settings

    from console.streams.access import credentials_lapsed

    viewer = world.user("viewer")
    client = logged_in("viewer")
    session = import_module(settings.SESSION_ENGINE).SessionStore(client.session.session_key)
    scope = {"session": session, "user": get_user_model().objects.get(pk=viewer.pk)}
    assert credentials_lapsed(scope) == ""
    TeamTwoFactorRequirement.objects.create(team=world.teams["alpha"])
    assert credentials_lapsed(scope) == "session"
