"""Single sign-on's settings, read from the environment (README, "Single sign-on").

`settings.py` adds what `oidc_settings` and `ldap_settings` return: nothing when the provider
is not configured, so a console without `MOORAGE_OIDC_ISSUER` or `MOORAGE_LDAP_URI` logs in
with local accounts alone. Nothing here reaches the network: the OpenID provider's endpoints
are discovered on first use (`console.sso.oidc`), not when a process starts.
"""


def _flag(environ, name: str, default: bool = False) -> bool:
    value = environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def oidc_settings(environ) -> dict:
    """mozilla-django-oidc's settings (and ours) for `MOORAGE_OIDC_*`; {} when no issuer."""
    issuer = environ.get("MOORAGE_OIDC_ISSUER", "").strip().rstrip("/")
    if not issuer:
        return {"OIDC_ENABLED": False}
    missing = [name for name in ("MOORAGE_OIDC_CLIENT_ID", "MOORAGE_OIDC_CLIENT_SECRET")
               if not environ.get(name)]
    if missing:
        raise ValueError(f"MOORAGE_OIDC_ISSUER is set, so {' and '.join(missing)} must be too")
    return {
        "OIDC_ENABLED": True,
        "OIDC_ISSUER": issuer,
        "OIDC_PROVIDER_NAME": environ.get("MOORAGE_OIDC_NAME", "").strip() or "single sign-on",
        "OIDC_RP_CLIENT_ID": environ["MOORAGE_OIDC_CLIENT_ID"],
        "OIDC_RP_CLIENT_SECRET": environ["MOORAGE_OIDC_CLIENT_SECRET"],
        "OIDC_RP_SIGN_ALGO": environ.get("MOORAGE_OIDC_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": environ.get("MOORAGE_OIDC_SCOPES", "openid email profile groups"),
        "OIDC_USERNAME_CLAIM": environ.get("MOORAGE_OIDC_USERNAME_CLAIM", "preferred_username"),
        "OIDC_GROUPS_CLAIM": environ.get("MOORAGE_OIDC_GROUPS_CLAIM", "groups"),
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": float(environ.get("MOORAGE_OIDC_TIMEOUT", 10)),
        "OIDC_VERIFY_SSL": environ.get("MOORAGE_OIDC_CA_FILE") or _flag(
            environ, "MOORAGE_OIDC_VERIFY_TLS", True),
        # Our callback view says what went wrong on the login page.
        "LOGIN_REDIRECT_URL_FAILURE": "/login/",
        "OIDC_CALLBACK_CLASS": "console.sso.oidc.CallbackView",
        "OIDC_AUTHENTICATE_CLASS": "console.sso.oidc.StartView",
    }


# MOORAGE_LDAP_GROUP_TYPE -> the django_auth_ldap.config class that reads such groups.
LDAP_GROUP_TYPES = {
    "groupOfNames": "GroupOfNamesType",
    "groupOfUniqueNames": "GroupOfUniqueNamesType",
    "posixGroup": "PosixGroupType",
    "activeDirectory": "ActiveDirectoryGroupType",
    "nestedGroupOfNames": "NestedGroupOfNamesType",
    "nestedActiveDirectory": "NestedActiveDirectoryGroupType",
}


def ldap_settings(environ) -> dict:
    """django-auth-ldap's settings for `MOORAGE_LDAP_*`; {} when no URI."""
    uri = environ.get("MOORAGE_LDAP_URI", "").strip()
    if not uri:
        return {"LDAP_ENABLED": False}
    import ldap
    from django_auth_ldap import config

    user_base = environ.get("MOORAGE_LDAP_USER_BASE", "")
    template = environ.get("MOORAGE_LDAP_USER_DN_TEMPLATE", "")
    if not (user_base or template):
        raise ValueError("MOORAGE_LDAP_URI is set, so MOORAGE_LDAP_USER_BASE (or "
                         "MOORAGE_LDAP_USER_DN_TEMPLATE) must be too")
    values = {
        "LDAP_ENABLED": True,
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": environ.get("MOORAGE_LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": environ.get("MOORAGE_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": _flag(environ, "MOORAGE_LDAP_START_TLS"),
        "AUTH_LDAP_USER_ATTR_MAP": {"email": "mail", "first_name": "givenName",
                                    "last_name": "sn"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        # Groups are read at each login (for the mapping to teams), never cached.
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_CONNECTION_OPTIONS": {ldap.OPT_NETWORK_TIMEOUT: 10, ldap.OPT_TIMEOUT: 10,
                                         ldap.OPT_REFERRALS: 0},
    }
    if environ.get("MOORAGE_LDAP_CA_FILE"):
        values["AUTH_LDAP_GLOBAL_OPTIONS"] = {
            ldap.OPT_X_TLS_CACERTFILE: environ["MOORAGE_LDAP_CA_FILE"]}
    if template:
        values["AUTH_LDAP_USER_DN_TEMPLATE"] = template
    else:
        values["AUTH_LDAP_USER_SEARCH"] = config.LDAPSearch(
            user_base, ldap.SCOPE_SUBTREE,
            environ.get("MOORAGE_LDAP_USER_FILTER", "(uid=%(user)s)"))
    group_base = environ.get("MOORAGE_LDAP_GROUP_BASE", "")
    if group_base:
        kind = environ.get("MOORAGE_LDAP_GROUP_TYPE", "groupOfNames")
        if kind not in LDAP_GROUP_TYPES:
            raise ValueError(f"MOORAGE_LDAP_GROUP_TYPE is one of {', '.join(LDAP_GROUP_TYPES)}")
        values["AUTH_LDAP_GROUP_SEARCH"] = config.LDAPSearch(
            group_base, ldap.SCOPE_SUBTREE,
            environ.get("MOORAGE_LDAP_GROUP_FILTER", "(objectClass=*)"))
        values["AUTH_LDAP_GROUP_TYPE"] = getattr(config, LDAP_GROUP_TYPES[kind])()
    return values
