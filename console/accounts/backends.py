"""Local accounts: a username and the password the console keeps (Django's model backend),
while the login policy allows them. With local accounts off, only the break-glass account
(the first superuser, `models.break_glass_account_id`) still logs in with its password; the
others log in through a directory (`console.sso`). API tokens are not affected either way."""
from django.contrib.auth.backends import ModelBackend

from console.accounts.models import LoginPolicy, break_glass_account_id


class LocalAccountBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or LoginPolicy.current().local_accounts:
            return user
        if user.pk == break_glass_account_id():
            return user
        if request is not None:
            request.login_refusal = "local accounts are turned off"
        return None
