"""The login limiter, on the login page and on POST /api/auth/token/: failures for one
username from one address lock that pair only; the right password from an address that has
not failed is never refused (so nobody can lock `admin` out, nor a shared NAT address); an
address is blocked for every username only at a much higher rate; a successful login clears
its pair."""
import pytest

from console.audit.models import AuditEntry
from console.core.testing import PASSWORD

ATTACKER, ELSEWHERE = "198.51.100.66", "203.0.113.7"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 300


def page_login(client, username, password, address):
    """True when the login page let the user in."""
    answer = client.post("/login/", {"username": username, "password": password},
                         REMOTE_ADDR=address)
    if answer.status_code == 302:
        client.post("/logout/", REMOTE_ADDR=address)
        return True
    return False


def api_login(client, username, password, address):
    return client.post("/api/auth/token/", {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=address)


def fail(client, username, address, times):
    for _ in range(times):
        assert not page_login(client, username, "wrong", address)


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(world, client):
    fail(client, "viewer", ATTACKER, 5)
    assert page_login(client, "viewer", PASSWORD, ELSEWHERE)
    assert api_login(client, "viewer", PASSWORD, ELSEWHERE).status_code == 201


def test_the_failing_pair_is_refused_even_with_the_right_password(world, client):
    fail(client, "viewer", ATTACKER, 3)
    answer = client.post("/login/", {"username": "viewer", "password": PASSWORD},
                         REMOTE_ADDR=ATTACKER)
    assert answer.status_code == 200 and "Too many failed attempts" in answer.content.decode()
    token = api_login(client, "viewer", PASSWORD, ATTACKER)
    assert token.status_code == 429 and "Too many failed attempts" in token.json()["detail"]
    assert 0 < int(token["Retry-After"]) <= 300
    assert AuditEntry.objects.filter(action__startswith="auth.", result="denied").count() == 2


def test_a_shared_address_still_lets_other_users_in(world, client):
    fail(client, "viewer", ATTACKER, 3)
    assert page_login(client, "operator", PASSWORD, ATTACKER)
    assert api_login(client, "operator", PASSWORD, ATTACKER).status_code == 201


def test_api_failures_count_like_page_failures(world, client):
    for _ in range(3):
        assert api_login(client, "viewer", "wrong", ATTACKER).status_code == 401
    assert not page_login(client, "viewer", PASSWORD, ATTACKER)
    assert page_login(client, "viewer", PASSWORD, ELSEWHERE)


def test_an_address_is_blocked_for_everyone_only_at_a_much_higher_rate(world, client):
    usernames = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"]
    for name in usernames[:7]:
        fail(client, name, ATTACKER, 1)
    assert page_login(client, "operator", PASSWORD, ATTACKER)       # 7 < 8: not yet
    fail(client, usernames[7], ATTACKER, 1)
    assert not page_login(client, "operator", PASSWORD, ATTACKER)
    assert api_login(client, "developer", PASSWORD, ATTACKER).status_code == 429
    assert page_login(client, "operator", PASSWORD, ELSEWHERE)


def test_a_successful_login_clears_its_pair(world, client):
    fail(client, "viewer", ATTACKER, 2)
    assert page_login(client, "viewer", PASSWORD, ATTACKER)
    fail(client, "viewer", ATTACKER, 2)
    assert page_login(client, "viewer", PASSWORD, ATTACKER)
    assert api_login(client, "viewer", PASSWORD, ATTACKER).status_code == 201


def test_usernames_count_alike_whatever_their_case(world, client):
    fail(client, "Viewer", ATTACKER, 2)
    fail(client, "VIEWER", ATTACKER, 1)
    assert not page_login(client, "viewer", PASSWORD, ATTACKER)


def test_an_ipv6_network_counts_as_one_address(world, client):
    """An IPv6 host has a whole /64 to itself: rotating through it must not reset the count."""
    for suffix in ("1", "2", "3"):
        fail(client, "viewer", f"2001:db8:1:2::{suffix}", 1)
    assert not page_login(client, "viewer", PASSWORD, "2001:db8:1:2::99")
    assert page_login(client, "viewer", PASSWORD, "2001:db8:1:3::1")
