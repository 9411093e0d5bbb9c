"""Errors the way each kind of client reads them.

Under /api/, every answer is JSON, errors included. DRF answers its own errors as JSON; what
Django answers before, around or instead of DRF is HTML: an unknown URL (404), a method a plain
view does not take (405), a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, an uncaught exception
(500), and DRF's own errors rendered for a browser. `ApiErrorsMiddleware` turns each into
`{"detail": "..."}` with the same status (DRF's data kept as it is), and answers a body that
is too large with 413. A URL holding a NUL character is refused before anything reads it.

Redis unreachable (the broker a job is queued on, or the channel layer a log stream goes
through) is a 503 saying so: JSON under /api/, and on pages the message shown on the page the
form was sent from, instead of a 500.
"""
import json
import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import (HttpResponse, HttpResponseBadRequest, HttpResponseRedirect,
                         JsonResponse)
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme

log = logging.getLogger(__name__)

# Pages that live under /api/ (the endpoint list is for people).
PAGES_UNDER_API = ("/api/docs/",)
# Headers an error's meaning depends on.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
DETAILS = {400: "Bad request.", 401: "Authentication credentials were not provided.",
           403: "You do not have permission to perform this action.", 404: "Not found.",
           413: "The request is too large.", 500: "Internal server error: the error is "
                                                "logged on the server."}
REDIS_UNREACHABLE = "Redis is unreachable: nothing was queued, try again when it is back."


def is_api(request) -> bool:
    path = request.path_info
    return path.startswith("/api/") and not path.startswith(PAGES_UNDER_API)


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def redis_unreachable(error: BaseException) -> bool:
    """Whether `error` means Redis (broker or channel layer) cannot be reached."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from console.jobs.dispatch import QueueUnavailable

    return isinstance(error, (QueueUnavailable, OperationalError, RedisConnectionError,
                              RedisTimeoutError))


def refused_up_front(request):
    """A 400 for a URL holding a NUL character (in its path or a query parameter), which no
    name or filter has and some databases cannot even be asked about (PostgreSQL); else
    None."""
    if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()):
        detail = "NUL characters are not accepted in a URL."
        if is_api(request):
            return json_error(400, detail)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
    return None


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
        return refused_up_front(request) or as_json(request, self.get_response(request))

    async def __acall__(self, request):
        return refused_up_front(request) or as_json(request, await self.get_response(request))

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and is_api(request):
            return json_error(413, "The request body is larger than "
                                   f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
        if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)) and is_api(request):
            return json_error(413, str(exception))
        if redis_unreachable(exception):
            log.warning("%s %s: Redis is unreachable: %s", request.method, request.path,
                        exception)
            return unavailable(request)
        return None


def unavailable(request):
    """The 503 of a request that needed Redis: JSON for the API; for a form, the message on
    the page it was sent from; a short page otherwise."""
    if is_api(request):
        return json_error(503, REDIS_UNREACHABLE)
    back = request.META.get("HTTP_REFERER", "")
    if request.method == "POST" and url_has_allowed_host_and_scheme(
            back, {request.get_host()}, request.is_secure()):
        messages.error(request, REDIS_UNREACHABLE)
        return HttpResponseRedirect(back)
    return HttpResponse(f"<!doctype html><title>Service unavailable</title>"
                        f"<p>{escape(REDIS_UNREACHABLE)}</p>", status=503)
