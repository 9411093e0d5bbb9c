"""ASGI entry point (daphne): Django for HTTP, Channels for websockets.

Websockets pass the Origin check against ALLOWED_HOSTS (no cross-site websocket hijacking; see
`OriginCheck` for token-authenticated scripts), then
authentication (session cookie or token header), then the router.

The first HTTP request a process serves starts its housekeeping thread
(`console/housekeeping.py`).
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from console.housekeeping import StartOnFirstRequest  # noqa: E402
from console.streams.auth import OriginCheck, auth_stack  # noqa: E402
from console.streams.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": StartOnFirstRequest(django_application),
    "websocket": OriginCheck(auth_stack(URLRouter(websocket_urlpatterns))),
})
