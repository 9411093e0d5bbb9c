"""A superuser adds a host from the Hosts page: makes a join token there, reads it (and the
command that uses it, copied with its button) once, and the token really lets a machine in,
through the very call `./moorage join` makes, once; a token revoked on the page lets nothing
in. Every page under the strict Content-Security-Policy."""
import re
import secrets
import shlex

import pytest
from playwright.sync_api import expect

from console.agent import console_api
from tests.browser.test_content_security_policy import Policed, log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


def test_a_join_token_made_on_the_page_lets_one_machine_join(stack, page, shot):
    name, spare = (f"joiner-{secrets.token_hex(3)}" for _ in range(2))
    policed = Policed(page, stack.base)
    log_in(policed, stack)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
    joined = None
    try:
        shot(page, "join-dashboard")
        page.click("#add-host")
        expect(page).to_have_url(stack.base + "/join-tokens/")
        expect(page.locator("#id_lifetime")).to_have_value("60")
        policed.clean("the join tokens' page")

        # A bad name is said beside it, and nothing is made.
        page.fill("#id_name", "Not A Name")
        page.click("#make-join-token")
        expect(page.locator(".field:has(#id_name) .field-error")).to_contain_text(
            "lowercase letters, digits and '-'")
        expect(page.locator("#join-tokens")).not_to_contain_text("Not A Name")
        shot(page, "join-token-refused")
        policed.clean("a bad name", expected_errors=("status of 400",))

        page.fill("#id_name", name)
        page.check("#join-teams label:has-text('default') input")
        page.click("#make-join-token")
        expect(page.locator("#join-token-made")).to_contain_text("not shown again")
        command = page.locator("#join-command").inner_text().strip()
        secret = page.locator("#join-token").inner_text().strip()
        assert command == f"./moorage join {stack.base} {secret}", command
        expect(page.locator("#join-expires")).to_contain_text("in 59 minutes")
        expect(page.locator("#join-token-facts")).to_contain_text("default")
        expect(page.locator("#join-ca")).to_have_count(0)          # plain HTTP here
        page.click("[data-copy=join-command]")
        expect(page.locator("[data-copy=join-command]")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == command
        shot(page, "join-token-made")
        policed.clean("the token made")

        # Listed by its first characters only, from now on.
        policed.visit("/join-tokens/")
        row = page.locator(f"#join-tokens tr[data-host='{name}']")
        expect(row).to_contain_text(secret[:12])
        expect(row).to_contain_text("admin")
        assert secret not in page.content()
        policed.clean("listed")

        # The command's URL and token, as `./moorage join` sends them: one machine joins.
        _, _, console, token = shlex.split(command)
        answer = console_api.join(console, token, None)
        joined = next(h for h in stack.admin.ok("GET", "/api/hosts/")["results"]
                      if h["name"] == name)
        assert answer["host"] == name and answer["key"].startswith("mhk_")
        assert joined["joined"] is True
        with pytest.raises(console_api.ConsoleRefused) as again:
            console_api.join(console, token, None)
        assert again.value.status == 403
        policed.visit("/join-tokens/")
        expect(page.locator(f"#join-tokens tr[data-host='{name}']")).to_have_count(0)

        # Another token, revoked on the page: it lets nothing in.
        page.fill("#id_name", spare)
        page.click("#make-join-token")
        spare_token = page.locator("#join-token").inner_text().strip()
        policed.visit("/join-tokens/")
        shot(page, "join-tokens")
        page.locator(f"#join-tokens tr[data-host='{spare}'] .revoke-join-token").click()
        expect(page.locator(".messages")).to_contain_text(f"for host {spare} is revoked")
        expect(page.locator(f"#join-tokens tr[data-host='{spare}']")).to_have_count(0)
        with pytest.raises(console_api.ConsoleRefused) as revoked:
            console_api.join(stack.base, spare_token, None)
        assert revoked.value.status == 403
        policed.clean("a token revoked")
        assert re.fullmatch(r"mjt_[\w-]{43}", spare_token)
    finally:
        if joined is not None:      # its key revoked (and its Redis user), then the host gone
            stack.admin.ok("POST", f"/api/hosts/{joined['id']}/revoke-key/")
            stack.admin.ok("DELETE", f"/api/hosts/{joined['id']}/?confirm={name}")
