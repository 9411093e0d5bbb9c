"""A host's key opens the host API (`/api/agent/`) and the agent's websocket, nothing else: on
the user API (`/api/containers/`, ...) it is refused with 401 and audited, with the host as
actor when the key is one (a stolen host key tried where users act). The websocket side is
`console.streams.auth`."""
from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async

from console.core.errors import NotAuthenticated, json_error

AGENT_PATHS = ("/api/agent/",)
MESSAGE = "A host key opens only the host API (/api/agent/)."


def host_key_in(request) -> str | None:
    from console.hostapi.authentication import key_from_header

    header = request.META.get("HTTP_AUTHORIZATION", "")
    return key_from_header(header) if header else None


def refuse(request, key: str):
    from console.hostapi.authentication import host_key
    from console.hostapi.refusals import record_refusal

    row = host_key(key)
    record_refusal(request, "hostapi.user_api", NotAuthenticated(MESSAGE),
                   host=row.host if row is not None else None)
    return json_error(401, MESSAGE)


def fenced(request) -> str | None:
    if not request.path.startswith("/api/") or request.path.startswith(AGENT_PATHS):
        return None
    return host_key_in(request)


class HostKeyFence:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        key = fenced(request)
        return refuse(request, key) if key else self.get_response(request)

    async def __acall__(self, request):
        key = fenced(request)
        if key:
            return await sync_to_async(refuse)(request, key)
        return await self.get_response(request)
