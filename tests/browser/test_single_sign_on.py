"""Single sign-on and two-factor login in Chromium, end to end: the console (its own daphne
beside the stack's, configured for the test OpenID Connect provider, sharing the stack's
database and Redis) sends the browser to the provider, which sends it back logged in, with
the roles its groups give; a later login after the groups changed takes the role away. Then
the user sets up an authenticator from the QR code, and the next login asks for its code.
Every console page on the way passes the strict Content-Security-Policy."""
import os
import re
from base64 import b32decode

import pytest
from django_otp.oath import TOTP, hotp
from playwright.sync_api import expect

from tests.browser.test_content_security_policy import Policed
from tests.sso_servers import OidcProvider
from tests.stack import VENV_BIN, free_port, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


class SingleSignOnConsole:
    def __init__(self, stack, provider, base):
        self.stack, self.provider, self.base = stack, provider, base


@pytest.fixture(scope="module")
def sso_console(stack):
    import urllib.request

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = OidcProvider()
    provider.start(base + "/oidc/callback/")
    env = dict(stack.env, **provider.console_environment())
    try:
        stack.spawn("web-sso", [os.path.join(VENV_BIN, "daphne"), "-b", "127.0.0.1", "-p",
                                str(port), "console.asgi:application"], env=env)
        wait_until(lambda: urllib.request.urlopen(base + "/login/", timeout=2).status == 200,
                   what="the single sign-on console")
        yield SingleSignOnConsole(stack, provider, base)
    finally:
        stack.end("web-sso")
        provider.stop()


def roles(stack, username) -> dict:
    users = stack.admin.ok("GET", "/api/users/?page_size=1000")["results"]
    user = next(u for u in users if u["username"] == username)
    return {entry["team"]: entry["role"] for entry in user["teams"]}


def sign_in(page, console, username, password):
    page.click("#sign-in-oidc")
    if page.url.startswith(console.provider.base + "/accounts/login/"):
        page.fill("#provider-username", username)
        page.fill("#provider-password", password)
        page.click("#provider-submit")


def test_single_sign_on_then_two_factor_login(sso_console, page, shot):
    stack, provider, base = sso_console.stack, sso_console.provider, sso_console.base
    stack.admin.ok("POST", "/api/sso-mappings/", {"source": "oidc", "group": "e2e-devs",
                                                  "team": "default", "role": "developer"})
    provider.set_person("dana", "dana's password", groups=["e2e-devs"])
    policed = Policed(page, base)

    # Single sign-on: off to the provider and back, a developer of `default`.
    policed.visit("/login/")
    expect(page.locator("#sign-in-oidc")).to_have_text("Sign in with Test IdP")
    policed.clean("login with single sign-on")
    sign_in(page, sso_console, "dana", "dana's password")
    expect(page).to_have_url(base + "/")
    expect(page.locator(".topbar .user")).to_contain_text("dana")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    # (the provider's own page has no favicon: not the console's business)
    policed.clean("dashboard after single sign-on", expected_errors=(provider.base,))
    assert roles(stack, "dana") == {"default": "developer"}

    # The directory moves dana out of the group: the next login takes the role away.
    provider.set_person("dana", "dana's password", groups=[])
    page.click("button:has-text('Log out')")
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.context.clear_cookies()              # the provider's session too: log in there again
    sign_in(page, sso_console, "dana", "dana's password")
    expect(page).to_have_url(base + "/")
    assert roles(stack, "dana") == {}

    # A second factor: set up from the QR code, the code computed as an app computes it.
    policed.clean("after the second single sign-on", expected_errors=(provider.base,))
    policed.visit("/account/two-factor/")
    page.click("#set-up")
    expect(page.locator("#qr-code")).to_be_visible()
    wait_until(lambda: page.evaluate("document.getElementById('qr-code').naturalWidth") > 0,
               what="the QR code drawn")
    key = b32decode(page.locator("#totp-secret").inner_text())
    shot(page, "two-factor-set-up")
    policed.clean("setting up an authenticator")
    step = TOTP(key).t()
    page.fill("#id_code", f"{hotp(key, step):06d}")
    page.click("button:has-text('Turn on two-factor login')")
    codes = page.locator("#recovery-codes").inner_text().split()
    assert len(codes) == 10
    policed.clean("recovery codes")
    page.click("#recovery-codes-done")

    # The next login asks for the code before anything else.
    page.click("button:has-text('Log out')")
    sign_in(page, sso_console, "dana", "dana's password")
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/"))
    policed.clean("the second factor's page", expected_errors=(provider.base,))
    page.goto(base + "/containers/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/verify/\?next=%2Fcontainers%2F$"))
    expect(page.locator(".topbar")).to_have_count(0)            # nothing else to go to
    page.fill("#id_code", f"{hotp(key, step + 1):06d}")
    page.click("button:has-text('Go on')")
    expect(page).to_have_url(base + "/containers/")
    expect(page.locator("#live-status")).to_have_class(re.compile("on"))
    # A token, moments after the second factor: no code asked.
    policed.visit("/account/tokens/")
    page.fill("input[name=name]", "after the second factor")
    page.click("button:has-text('New token')")
    expect(page.locator("#new-token")).to_contain_text("mrg_")
    policed.clean("a token after the second factor")
    shot(page, "two-factor-token")
