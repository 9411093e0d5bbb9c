"""The provider's people, from `users.json` in its directory: a login checks the file's
password (and makes or updates the provider's own user row); the claims come from the file
at each token, so a changed group shows at the next login."""
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from oauth2_provider.oauth2_validators import OAuth2Validator


def entry(username: str) -> dict | None:
    people = json.loads((settings.DIRECTORY / "users.json").read_text())
    return people.get(username)


class PeopleFileBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        person = entry(username or "")
        if person is None or person["password"] != password:
            return None
        user, _ = get_user_model().objects.get_or_create(username=username)
        return user

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id).first()


class Validator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request):
        person = entry(request.user.username) or {}
        return {"preferred_username": person.get("preferred_username", request.user.username),
                "email": person.get("email", ""), "given_name": person.get("given_name", ""),
                "groups": person.get("groups", [])}
