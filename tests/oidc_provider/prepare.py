"""`python -m tests.oidc_provider.prepare CLIENT_ID CLIENT_SECRET REDIRECT_URI...`: the
provider's database, and the console registered as its one client (confidential, the
authorization code flow, RS256 ID tokens, no consent screen)."""
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")


def main(client_id, client_secret, *redirect_uris):
    django.setup()
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    Application.objects.update_or_create(client_id=client_id, defaults={
        "name": "moorage", "client_secret": client_secret,
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "redirect_uris": " ".join(redirect_uris), "algorithm": Application.RS256_ALGORITHM,
        "skip_authorization": True})


if __name__ == "__main__":
    main(*sys.argv[1:])
