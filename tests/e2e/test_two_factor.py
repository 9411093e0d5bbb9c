"""Two-factor login end to end through daphne and Redis: a user sets up an authenticator over
plain HTTP (as a browser would); then a password alone opens no page, no API call and no
websocket until the code is given; and the token endpoint wants the code (a recovery code
does, once), a token makes no token without one."""
import asyncio
import re
import secrets
from base64 import b32decode

import pytest
import requests
from django_otp.oath import TOTP, hotp
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.stack import Api
from tests.stream_client import run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def form_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def log_in(base, username, password):
    browser = requests.Session()
    page = browser.get(base + "/login/")
    answer = browser.post(base + "/login/", data={
        "csrfmiddlewaretoken": form_token(page.text), "username": username,
        "password": password}, headers={"Referer": base + "/login/"}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[-300:]
    return browser


async def events_socket_opens(base, browser) -> bool:
    url = base.replace("http://", "ws://") + "/ws/events/"
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    try:
        socket = await connect(url, additional_headers={"Cookie": cookie, "Origin": base})
    except InvalidStatus:
        return False
    try:
        await asyncio.wait_for(socket.recv(), 3)
    except asyncio.TimeoutError:
        await socket.close()
        return True                                   # open, and nothing to say
    except Exception:
        return False                                  # closed by the server (4401)
    await socket.close()
    return True


def test_a_second_factor_end_to_end(stack):
    base = stack.base
    username, password = "otp-" + secrets.token_hex(3), "a long enough password 7"
    stack.admin.ok("POST", "/api/users/", {"username": username, "password": password})

    # Set up an authenticator, as the browser does.
    browser = log_in(base, username, password)
    page = browser.get(base + "/account/two-factor/set-up/")
    key = b32decode(re.search(r'id="totp-secret">([A-Z2-7=]+)<', page.text).group(1))
    assert browser.get(base + "/account/two-factor/qr.svg").headers["Content-Type"] == \
        "image/svg+xml"
    step = TOTP(key).t()
    done = browser.post(base + "/account/two-factor/set-up/", data={
        "csrfmiddlewaretoken": form_token(page.text), "code": f"{hotp(key, step):06d}"},
        headers={"Referer": base + "/account/two-factor/set-up/"})
    assert done.status_code == 200
    recovery = re.search(r'id="recovery-codes">([^<]+)<', done.text).group(1).split()
    assert len(recovery) == 10

    # A password alone: no page, no API, no socket.
    browser = log_in(base, username, password)
    answer = browser.get(base + "/containers/", allow_redirects=False)
    assert answer.status_code == 302 and "/account/two-factor/verify/" in answer.headers[
        "Location"]
    assert browser.get(base + "/api/containers/").status_code == 403
    assert not run(events_socket_opens(base, browser))
    verify = browser.get(base + "/account/two-factor/verify/")
    answer = browser.post(base + "/account/two-factor/verify/", data={
        "csrfmiddlewaretoken": form_token(verify.text), "code": f"{hotp(key, step + 1):06d}"},
        headers={"Referer": base + "/account/two-factor/verify/"}, allow_redirects=False)
    assert answer.status_code == 302
    assert browser.get(base + "/api/containers/").status_code == 200
    assert run(events_socket_opens(base, browser))

    # Tokens: the code (here a recovery code, good once) with the password.
    api = Api(base)
    status, body = api.post("/api/auth/token/", {"username": username, "password": password})
    assert status == 401 and body["otp_required"] is True
    status, body = api.post("/api/auth/token/", {"username": username, "password": password,
                                                 "otp": recovery[0]})
    assert status == 201
    token = Api(base, body["token"])
    assert token.get("/api/containers/")[0] == 200
    assert token.post("/api/tokens/", {"name": "from a token"})[0] == 403
    status, _ = api.post("/api/auth/token/", {"username": username, "password": password,
                                              "otp": recovery[0]})
    assert status == 401
