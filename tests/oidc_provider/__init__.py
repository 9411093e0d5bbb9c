"""A small OpenID Connect provider for the single sign-on tests: django-oauth-toolkit with
OIDC on (RS256 ID tokens, discovery, userinfo, PKCE), in a Django project of its own, run by
daphne on a loopback port as the tests' own process (`tests.sso_servers.OidcProvider`).

Its people are a JSON file in its directory (`users.json`: username -> password, email,
groups), read at each login and each token, so a test changes someone's groups by writing
the file; the `groups` claim (scope `groups`) carries them."""
