"""OpenID Connect login with mozilla-django-oidc: the authorization code flow with PKCE, its
endpoints discovered from `MOORAGE_OIDC_ISSUER` on first use.

Chosen over django-allauth because it is what the console needs and no more: an
authentication backend beside the local one, and two views (start, callback), so the login
page, the audit log, the login limits and the second factor stay the console's own.

Our additions to the library, which trusts more than we do:
- Accounts are matched by the provider's `sub` (`DirectoryIdentity`), never by e-mail: an
  address at the provider does not open the local account that has it. An account is made at
  the first login, named by the username claim; a username already taken is refused.
- The ID token's issuer and audience are checked (the library checks neither).
- The groups claim is mapped to teams and roles at every login (`console.sso.mapping`).
- Every failure is audited (`auth.login`, failed, with the reason) and said on the login page.
- Discovery happens when a login needs it, so a provider that is down breaks its own logins,
  never the password logins nor a process starting.
"""
import logging
import threading

import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from console.sso import actions
from console.sso.models import Source

log = logging.getLogger(__name__)

DISCOVERED = {   # mozilla-django-oidc's setting -> the discovery document's field
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_discovery: dict = {}
_discovery_lock = threading.Lock()


class ProviderUnreachable(Exception):
    """The provider's discovery document could not be read."""


def discovery() -> dict:
    """The provider's `/.well-known/openid-configuration`, read once per process."""
    issuer = settings.OIDC_ISSUER
    with _discovery_lock:
        if _discovery.get("issuer_setting") != issuer:
            url = issuer + "/.well-known/openid-configuration"
            try:
                answer = requests.get(url, timeout=settings.OIDC_TIMEOUT,
                                      verify=settings.OIDC_VERIFY_SSL)
                answer.raise_for_status()
                document = answer.json()
            except (requests.RequestException, ValueError) as error:
                raise ProviderUnreachable(f"cannot read {url}: {error}") from error
            missing = [field for field in DISCOVERED.values() if not document.get(field)]
            if missing or document.get("issuer", "").rstrip("/") != issuer:
                raise ProviderUnreachable(f"{url} is not the discovery document of {issuer}"
                                          f" ({', '.join(missing) or 'another issuer'})")
            _discovery.clear()
            _discovery.update(document, issuer_setting=issuer)
        return dict(_discovery)


def setting(name, *default):
    """mozilla-django-oidc's settings, the endpoints from discovery."""
    if name in DISCOVERED:
        return discovery()[DISCOVERED[name]]
    return import_from_settings(name, *default)


def refuse(request, reason: str):
    """Note why the login was refused, for the callback's audit entry and message."""
    request.sso_refusal = reason
    raise SuspiciousOperation(reason)


class OidcBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        # The library reads the endpoints here, on every authenticate() of any login; we read
        # them only for an OpenID Connect login (`authenticate` below).
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs:     # not the callback: a password login
            return None
        self.OIDC_OP_TOKEN_ENDPOINT = setting("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = setting("OIDC_OP_USER_ENDPOINT")
        self.OIDC_OP_JWKS_ENDPOINT = setting("OIDC_OP_JWKS_ENDPOINT")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if kwargs.get("nonce") is not None:              # the ID token (not a userinfo JWT)
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
                refuse(self.request, "the ID token is from another issuer")
            if settings.OIDC_RP_CLIENT_ID not in audiences:
                refuse(self.request, "the ID token is for another client")
            self.id_token_claims = payload
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, and the userinfo endpoint's over them."""
        return {**payload, **super().get_userinfo(access_token, id_token, payload)}

    def verify_claims(self, claims):
        if not claims.get("sub"):
            refuse(self.request, "the provider gave no subject (sub)")
        if not self.username_of(claims):
            refuse(self.request, f"the provider gave no {settings.OIDC_USERNAME_CLAIM} claim")
        return True

    def username_of(self, claims) -> str:
        return str(claims.get(settings.OIDC_USERNAME_CLAIM) or "").strip()[:150]

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(
            directory_identities__source=Source.OIDC,
            directory_identities__subject=str(claims["sub"]))

    def create_user(self, claims):
        username = self.username_of(claims)
        if self.UserModel.objects.filter(username__iexact=username).exists():
            refuse(self.request, f"the username {username!r} is another account's")
        user = actions.make_account(Source.OIDC, str(claims["sub"]), username,
                                    email=claims.get("email") or "", request=self.request)
        self.fill_in(user, claims)
        return self.mapped(user, claims)

    def update_user(self, user, claims):
        self.fill_in(user, claims)
        return self.mapped(user, claims)

    def fill_in(self, user, claims) -> None:
        user.email = claims.get("email") or user.email
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save()

    def mapped(self, user, claims):
        if not user.is_active:
            refuse(self.request, f"the account {user.username} is deactivated")
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        actions.apply_group_mapping(user, Source.OIDC, groups, request=self.request)
        return user


def oidc_enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


def failed(request, reason: str):
    """Audit a failed OpenID Connect login and say why on the login page."""
    log.warning("single sign-on failed: %s", reason)
    actions.login_failed(request, Source.OIDC, reason)
    messages.error(request, f"Single sign-on failed: {reason}.")
    return HttpResponseRedirect(reverse("login"))


class StartView(OIDCAuthenticationRequestView):
    """`/oidc/authenticate/`: off to the provider."""

    get_settings = staticmethod(setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)       # the endpoint is read in get(): discovery may fail

    def get(self, request):
        oidc_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnreachable as error:
            return failed(request, f"the provider cannot be reached ({error})")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """`/oidc/callback/`: the provider's answer; the console's own login (audited) on
    success, an audited failure otherwise."""

    get_settings = staticmethod(setting)

    def get(self, request):
        oidc_enabled()
        self.reason = ""
        if request.GET.get("error"):
            self.reason = "the provider said " + " ".join(
                filter(None, [request.GET["error"], request.GET.get("error_description", "")]))
        try:
            return super().get(request)
        except SuspiciousOperation as error:
            return failed(request, getattr(request, "sso_refusal", "") or str(error))
        except (requests.RequestException, ProviderUnreachable, ValueError) as error:
            return failed(request, f"the provider cannot be reached or answered wrong "
                                   f"({error})")

    def login_success(self):
        from console.accounts import actions

        actions.log_in(self.request, self.user, method="oidc")
        return HttpResponseRedirect(self.success_url)

    def login_failure(self):
        if self.reason:
            return failed(self.request, self.reason)
        if "code" not in self.request.GET or "state" not in self.request.GET:
            return failed(self.request, "the answer has no code or state")
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            return failed(self.request, f"the account {user.username} is deactivated")
        return failed(self.request, getattr(self.request, "sso_refusal", "")
                      or "the login session expired: try again")
