"""Two-factor login: an authenticator app's time-based codes (TOTP, django-otp) and ten
recovery codes, each good once.

Who needs a second factor: whoever has one (an authenticator set up), and whoever must
(`required_for`): everyone or superusers, by the login policy, and the members of a team that
requires it. Until a session has passed its second factor it reaches only the two-factor
pages and logout (`middleware.TwoFactorMiddleware`); the API answers it 403 and websockets
refuse it (`console.streams.auth`).

An API token is no way around it: a user who needs a second factor makes a token only with a
fresh one (`actions.require_fresh`): a code given with the request, or a browser session that passed
its second factor within `TWO_FACTOR_FRESH_SECONDS`.

Every code tried counts against the login limits of the username and address, as a password
does (`actions.check_code`); on top of that django-otp slows down guessing per device. This
module says who needs what and checks codes; `console.accounts.actions` changes things and
audits them.
"""
import secrets
import time
from binascii import unhexlify

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db.models import Exists, OuterRef, Q
from django_otp import DEVICE_ID_SESSION_KEY, login as otp_login, verify_token
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.accounts.models import LoginPolicy, TeamTwoFactorRequirement
from console.core.errors import Forbidden

VERIFIED_AT = "moorage_two_factor_verified_at"       # session: when it passed its second factor
PENDING_KEY = "moorage_two_factor_pending_key"       # session: the key being set up
RECOVERY_CODES = 10


class CodeRefused(Forbidden):
    """The second factor was missing, wrong, or tried too often (`retry_after` seconds to
    wait, then)."""

    def __init__(self, message: str, *, retry_after: int = 0):
        super().__init__(message)
        self.retry_after = retry_after


# -- who needs one ---------------------------------------------------------------------------

def authenticator(user):
    """The user's authenticator (a confirmed TOTP device), or None."""
    if user is None or not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def required_for(user) -> str:
    """Why `user` must have a second factor ("" when they need not): "everyone",
    "superusers" or "team NAME"."""
    if user is None or not user.is_authenticated:
        return ""
    policy = LoginPolicy.current()
    if policy.two_factor_for_everyone:
        return "everyone"
    if user.is_superuser and policy.two_factor_for_superusers:
        return "superusers"
    requirement = (TeamTwoFactorRequirement.objects.filter(team__memberships__user=user)
                   .select_related("team").order_by("team__name").first())
    return f"team {requirement.team.name}" if requirement else ""


def needs_second_factor(user) -> bool:
    """Whether `user` has an authenticator or must have one: one query (every request of a
    session that has not passed a second factor asks it)."""
    if user is None or not user.is_authenticated:
        return False
    policy = LoginPolicy.objects.filter(pk=1)
    return get_user_model().objects.filter(pk=user.pk).filter(
        Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        | Exists(TeamTwoFactorRequirement.objects.filter(team__memberships__user=OuterRef("pk")))
        | Exists(policy.filter(two_factor_for_everyone=True))
        | (Q(is_superuser=True) & Exists(policy.filter(two_factor_for_superusers=True)))
    ).exists()


# -- sessions --------------------------------------------------------------------------------

def verified_device(session, user):
    """The device the login session `session` of `user` passed its second factor with, or
    None (also for a device since removed)."""
    if session is None or user is None or not user.is_authenticated:
        return None
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def session_passes(session, user) -> bool:
    """Whether the login session of `user` may be used: it passed its second factor, or the
    user needs none."""
    return verified_device(session, user) is not None or not needs_second_factor(user)


def mark_verified(request, device) -> None:
    """The session passed its second factor with `device`, now."""
    otp_login(request, device)
    request.session[VERIFIED_AT] = time.time()


def fresh(request, user) -> bool:
    """Whether `request` comes from `user`'s browser session that passed its second factor
    within TWO_FACTOR_FRESH_SECONDS (a request made with an API token never is)."""
    if request is None or getattr(request, "auth", None) is not None:
        return False
    session = getattr(request, "session", None)
    if session is None or str(session.get(SESSION_KEY)) != str(user.pk):
        return False
    if verified_device(session, user) is None:
        return False
    return time.time() - float(session.get(VERIFIED_AT) or 0) <= settings.TWO_FACTOR_FRESH_SECONDS


# -- codes -----------------------------------------------------------------------------------

def normalized(code) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()


def match(user, code: str):
    """The device of `user`'s that accepts `code` (6 digits: the authenticator's; otherwise a
    recovery code, which is used up), or None."""
    code = normalized(code)
    if not code:
        return None
    if code.isdigit() and len(code) == 6:
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    for device in devices:
        accepted = verify_token(user, device.persistent_id, code)
        if accepted is not None:
            return accepted
    return None


# -- setting it up ---------------------------------------------------------------------------

def pending_key(request) -> str:
    """The secret being set up in this session (hex), made on first use."""
    key = request.session.get(PENDING_KEY)
    if not key:
        key = secrets.token_hex(20)
        request.session[PENDING_KEY] = key
    return key


def provisioning_uri(user, key: str) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code."""
    return TOTPDevice(user=user, key=key, name="authenticator").config_url


def setup_secret(key: str) -> str:
    """The secret as an app takes it typed in (base32)."""
    from base64 import b32encode

    return b32encode(unhexlify(key)).decode()


def confirm_setup(key: str, code):
    """The authenticator of secret `key`, unsaved, if `code` is what an app holding it shows
    now (one step either way); None otherwise."""
    totp = TOTP(unhexlify(key))
    code = normalized(code)
    if not (code.isdigit() and len(code) == 6 and totp.verify(int(code), tolerance=1)):
        return None
    # The code just used is not accepted again (last_t).
    return TOTPDevice(name="authenticator", key=key, confirmed=True, last_t=totp.t(),
                      drift=totp.drift)


def replace_recovery_codes(user) -> list[str]:
    """Ten new recovery codes for `user` (the old ones no longer work), shown as xxxx-xxxx."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery codes",
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def remove(user) -> None:
    """Remove `user`'s authenticator and recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
