"""The Content-Security-Policy of every response (django-csp writes the header; the policy
itself is `CONTENT_SECURITY_POLICY` in settings).

Scripts and styles come only from our own static files: no inline script, no event handler
attributes, no `style=` attributes, no `eval`. Three additions depend on the request:

- `connect-src` names the page's own websocket origin (`ws://host` or `wss://host`, as the
  page was served), which live updates, terminals and logs connect to. CSP 3 lets 'self'
  cover it, but not every browser does.
- The pages that host a terminal (xterm.js) allow inline styles: xterm.js 6 writes `<style>`
  elements for its theme and cell size, and a `style` attribute on each cell drawn in a
  24-bit colour. Scripts stay as strict there as everywhere, and nothing can be loaded from
  elsewhere, so an injected style could change how the page looks, not what it runs or sends.
- The API's browsable pages (Django REST framework's) allow the one `style` attribute their
  template has, by its hash ('unsafe-hashes' lets a hash name an attribute's value): that
  value and no other. (Its inline `<style>` is left out: templates/rest_framework/api.html.)
"""
import base64
import hashlib

from csp.constants import SELF, UNSAFE_HASHES, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from rest_framework.renderers import BrowsableAPIRenderer

# The pages (URL names) that show xterm.js: a container's page (its terminal) and the player
# of a recorded terminal session.
TERMINAL_PAGES = frozenset({"container-detail", "terminal-replay"})
# The `style` attribute of rest_framework/base.html (its "Extra Actions" menu).
BROWSABLE_API_STYLES = ("float: right; margin-right: 10px",)


def style_hash(declarations: str) -> str:
    digest = hashlib.sha256(declarations.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def websocket_origin(request) -> str | None:
    """`ws://host[:port]` (or `wss://` when the page came over HTTPS); None for a request
    whose Host header is not one of ALLOWED_HOSTS (it is answered with 400 anyway)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


def hosts_a_terminal(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name in TERMINAL_PAGES


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        origin = websocket_origin(request)
        if origin:
            update["connect-src"] = [*update.get("connect-src", ()), origin]
        parts.update = update
        if hosts_a_terminal(request):
            parts.replace = {**(parts.replace or {}), "style-src": [SELF, UNSAFE_INLINE]}
        elif isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            parts.replace = {**(parts.replace or {}), "style-src": [
                SELF, UNSAFE_HASHES, *map(style_hash, BROWSABLE_API_STYLES)]}
        return parts
