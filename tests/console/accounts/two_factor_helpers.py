"""What the two-factor tests share: the code an authenticator app shows, and a persona with
an authenticator set up (as the set-up page makes one)."""
import re
from binascii import unhexlify

from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.accounts import two_factor


def app_code(key_hex: str) -> str:
    """What an authenticator app holding `key_hex` shows now."""
    return f"{TOTP(unhexlify(key_hex)).token():06d}"


def next_code(user) -> str:
    """A code of `user`'s authenticator it has not accepted yet: this time step's, or the
    next one's when this one's was used (the server takes one step either way)."""
    device = TOTPDevice.objects.get(user=user)
    now = TOTP(unhexlify(device.key)).t()
    step = max(now, device.last_t + 1)
    assert step <= now + 1, "two codes of this time step were used already"
    return f"{hotp(unhexlify(device.key), step):06d}"


def set_up_authenticator(user) -> list[str]:
    """`user` with an authenticator (no code used yet) and ten recovery codes."""
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True, last_t=-1)
    return two_factor.replace_recovery_codes(user)


def secret_on_page(html: str) -> str:
    """The hex key behind the secret the set-up page shows (base32)."""
    from base64 import b32decode

    secret = re.search(r'id="totp-secret">([A-Z2-7=]+)<', html).group(1)
    return b32decode(secret).hex()
