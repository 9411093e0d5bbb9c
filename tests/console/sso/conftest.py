"""The directories the single sign-on tests log in through (tests/sso_servers.py): Debian's
slapd and the test OpenID Connect provider, started once per module, and the console's
settings pointing at them (as `MOORAGE_LDAP_*` / `MOORAGE_OIDC_*` would)."""
import os

import pytest

from console.sso import oidc
from console.sso.configuration import ldap_settings, oidc_settings
from tests.sso_servers import SLAPD, OidcProvider, Slapd

CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="module")
def directory():
    if not os.path.exists(SLAPD):
        pytest.skip("Debian's slapd is not installed (./moorage install)")
    server = Slapd().start()
    yield server
    server.stop()


@pytest.fixture
def ldap_console(settings, directory):
    for name, value in ldap_settings(directory.console_environment()).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = ["console.accounts.backends.LocalAccountBackend",
                                        "console.sso.ldap.LdapBackend"]
    return directory


@pytest.fixture(scope="module")
def provider():
    server = OidcProvider()
    server.start(CALLBACK)
    yield server
    server.stop()


@pytest.fixture
def oidc_console(settings, provider):
    for name, value in oidc_settings(provider.console_environment()).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = ["console.accounts.backends.LocalAccountBackend",
                                        "console.sso.oidc.OidcBackend"]
    oidc._discovery.clear()
    yield provider
    oidc._discovery.clear()


def oidc_login(client, provider, username, password):
    """Log `client` in through the provider, as a browser would: the console's answer to the
    provider's redirect back."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start
    callback = provider.sign_in(start["Location"], username, password)
    assert callback.startswith(CALLBACK), callback
    return client.get(callback.removeprefix("http://testserver"))
