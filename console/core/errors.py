"""Errors the way each kind of client reads them.

Under /api/, every answer is JSON, errors included. DRF answers its own errors as JSON; what
Django answers before, around or instead of DRF is HTML: an unknown URL (404), a method a plain
view does not take (405), a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, an uncaught exception
(500), and DRF's own errors rendered for a browser. `ApiErrorsMiddleware` turns each into
`{"detail": "..."}` with the same status (DRF's data kept as it is), and answers a body that
is too large with 413.
"""
import json

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse

# Pages that live under /api/ (the endpoint list is for people).
PAGES_UNDER_API = ("/api/docs/",)
# Headers an error's meaning depends on.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
DETAILS = {400: "Bad request.", 401: "Authentication credentials were not provided.",
           403: "You do not have permission to perform this action.", 404: "Not found.",
           413: "The request is too large.", 500: "Internal server error: the error is "
                                                "logged on the server."}


def is_api(request) -> bool:
    path = request.path_info
    return path.startswith("/api/") and not path.startswith(PAGES_UNDER_API)


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def as_json(request, response):
    """`response` as JSON, when it is an error answered under /api/ in another type."""
    if (response.status_code < 400 or response.streaming or not is_api(request)
            or response.get("Content-Type", "").startswith("application/json")):
        return response
    data = getattr(response, "data", None)          # DRF's, rendered for a browser
    if not isinstance(data, (dict, list)):
        detail = DETAILS.get(response.status_code) or response.reason_phrase
        if response.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
        data = {"detail": detail}
    converted = HttpResponse(json.dumps(data), status=response.status_code,
                             content_type="application/json")
    for header in KEPT_HEADERS:
        if header in response:
            converted[header] = response[header]
    return converted


class ApiErrorsMiddleware:
    """See the module's docstring. First in MIDDLEWARE, so it sees every other answer."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return as_json(request, self.get_response(request))

    async def __acall__(self, request):
        return as_json(request, await self.get_response(request))

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and is_api(request):
            return json_error(413, "The request body is larger than "
                                   f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
        if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)) and is_api(request):
            return json_error(413, str(exception))
        return None

