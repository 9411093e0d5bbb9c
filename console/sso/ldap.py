"""LDAP login with django-auth-ldap, beside the local accounts: the login form's username and
password are tried against the directory when no local account takes them.

Our additions: a directory never logs anyone into an account it did not make (a local
`admin` stays local whatever the directory holds: `get_or_build_user`); the accounts it makes
are linked to it (`DirectoryIdentity`, audited); and at every login the user's groups (their
names and DNs) are mapped to teams and roles (`console.sso.mapping`). A refusal says why in the
login's audit entry (`request.login_refusal`).
"""
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

from console.sso import actions
from console.sso.models import DirectoryIdentity, Source


class LdapBackend(LDAPBackend):
    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and not DirectoryIdentity.objects.filter(
                user=user, source=Source.LDAP).exists():
            refusal = f"the username {username!r} is an account the directory did not make"
            if ldap_user._request is not None:
                ldap_user._request.login_refusal = refusal
            raise ldap_user.AuthenticationFailed(refusal)
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None or not user.is_active:
            return None
        request = ldap_user._request
        actions.link_account(user, Source.LDAP, user.username.lower(), request=request)
        groups = set()
        if self.settings.GROUP_SEARCH is not None:
            groups = set(ldap_user.group_names) | set(ldap_user.group_dns)
        actions.apply_group_mapping(user, Source.LDAP, groups, request=request)
        return user


@receiver(ldap_error)
def say_the_directory_failed(sender, context, user, request, exception, **kwargs):
    """The directory could not be asked (down, a wrong bind): the login's audit entry says so
    rather than "wrong password"."""
    if request is not None and issubclass(sender, LdapBackend):
        description = exception.args[0].get("desc") if exception.args and isinstance(
            exception.args[0], dict) else str(exception)
        request.login_refusal = f"the LDAP directory failed {context}: {description}"
