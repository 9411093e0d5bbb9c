"""The console's one error hierarchy, and the answers each kind of client gets for it.

Actions, checks and lookups raise a `ConsoleError`: each class stands for an HTTP status, each
error carries the message its user reads (`message`) and, for a request's input, the
problems by field (`fields`). Nobody translates them on the way: the API answers them through
`api_exception_handler` (DRF's), JSON as `{"detail": message}` or the problems by field; pages
through `page_answer` (from `ApiErrorsMiddleware`, or from a view declared with `said_on`);
websockets close with `close_code`.

    ConsoleError
      Invalid           400  what was sent does not hold (problems by field)
      NotAuthenticated  401  nobody is logged in (or the token is not one)
      Forbidden         403  the user may not do this (problems by field, sometimes)
      NotFound          404  nothing the user may see goes by that name
      Conflict          409  not in the current state of what it names
      Gone              410  what it names has ended (a terminal session)
      TooLarge          413  the request is larger than allowed
      RedisUnreachable  503  the job queue or the channel layer cannot be reached
      HostSilent        504  the host's stream bridge did not answer

On pages, the refusals (401, 403, 404) have pages of their own; the other errors are said, as
a message, on the page the form was sent from (or the one the view names with `said_on`).

Around all this, `ApiErrorsMiddleware` makes every answer under /api/ JSON, errors included:
what Django answers before, around or instead of DRF is HTML (an unknown URL (404), a method a
plain view does not take (405), a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (413), an
uncaught exception (500), DRF's own errors rendered for a browser); each becomes
`{"detail": "..."}` with the same status (DRF's data kept as it is). A URL holding a NUL
character is refused before anything reads it. Redis unreachable, however it shows (the
broker a job is queued on, the channel layer a log stream goes through), is a 503 saying so.
"""
import functools
import json
import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.defaults import page_not_found, permission_denied

log = logging.getLogger(__name__)

REDIS_UNREACHABLE = "Redis is unreachable: nothing was queued, try again when it is back."


class ConsoleError(Exception):
    """What went wrong, in the words its user reads. Each class stands for an HTTP `status`
    and has a message of its own for when none is given (`class X(ConsoleError, status=...,
    message=...)`; a subclass of one of those keeps them)."""

    status = 500
    default_message = "Internal server error: the error is logged on the server."

    def __init_subclass__(cls, *, status: int | None = None, message: str = "", **kwargs):
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.default_message = message or cls.default_message

    def __init__(self, message: str = "", *, fields: dict | None = None):
        self.fields = {name: [str(problem) for problem in problems]
                       for name, problems in (fields or {}).items()}
        self.message = message or " ".join(
            problem for problems in self.fields.values() for problem in problems) \
            or self.default_message
        super().__init__(self.message)

    @property
    def data(self) -> dict:
        """The JSON of the answer: the problems by field, else `{"detail": message}`."""
        return dict(self.fields) if self.fields else {"detail": self.message}

    @property
    def close_code(self) -> int:
        """A websocket's close code for it: 4000 + the status for what the request did wrong
        (4400, 4401, 4403, 4404...), 1011 for the server's own trouble."""
        return 4000 + self.status if self.status < 500 else 1011


class Invalid(ConsoleError, status=400, message="Bad request."):
    """What was sent does not hold: the problems by field, or one message."""


class NotAuthenticated(ConsoleError, status=401,
                       message="Authentication credentials were not provided."):
    """Nobody is logged in, or the token given is none."""


class Forbidden(ConsoleError, status=403,
                message="You do not have permission to perform this action."):
    """The user may not do this. A refused request (a run, a pull, a name) may say why beside
    the fields concerned."""


class NotFound(ConsoleError, status=404, message="Not found."):
    """Nothing the user may see goes by that name: what exists out of their sight is answered
    alike."""


class Conflict(ConsoleError, status=409, message="Conflict."):
    """Not in the current state of what it names: a host offline, a container stopped."""


class Gone(ConsoleError, status=410, message="It has ended."):
    """What it names has ended: a terminal session that cannot be resumed."""


class TooLarge(ConsoleError, status=413, message="The request is too large."):
    """The request, or a part of it (a build's context), is larger than allowed."""


class RedisUnreachable(ConsoleError, status=503, message=REDIS_UNREACHABLE):
    """The broker a job is queued on, or the channel layer a stream goes through, cannot be
    reached: nothing was queued, and what was made for the job is taken back."""


class HostSilent(ConsoleError, status=504,
                 message="The host did not answer: its stream bridge may not be running."):
    """A host's stream bridge did not answer in time."""


class FieldErrors(dict):
    """Problems by field, gathered while a request is checked, for an `Invalid` (or a
    `Forbidden`) that names them all at once."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


# -- the API -------------------------------------------------------------------------------------

def api_exception_handler(exc, context):
    """DRF's exception handler, knowing the console's errors (REST_FRAMEWORK's
    EXCEPTION_HANDLER)."""
    # Imported here: DRF's views load the API settings, whose authentication classes load the
    # models, which raise these errors.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler, set_rollback

    if isinstance(exc, ConsoleError):
        set_rollback()
        return Response(exc.data, status=exc.status)
    return exception_handler(exc, context)


# -- pages ---------------------------------------------------------------------------------------

REFUSALS = (NotAuthenticated, Forbidden, NotFound)


def page_answer(request, error: ConsoleError, back: str = "") -> HttpResponse:
    """A page's answer to `error`. Not logged in: to the login page. A refusal (403, 404), unless
    `back` is given: the page of its status, with the message. Anything else, or a refusal
    with `back`: the message, on `back` or the page the form was posted from; a short page
    of the status when there is neither."""
    if isinstance(error, NotAuthenticated):
        return redirect_to_login(request.get_full_path())
    if not back and isinstance(error, Forbidden):
        return permission_denied(request, error)
    if not back and isinstance(error, NotFound):
        return page_not_found(request, error)
    back = back or posted_from(request)
    if back:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    return HttpResponse(f"<!doctype html><title>{error.status}</title>"
                        f"<p>{escape(error.message)}</p>", status=error.status)


def posted_from(request) -> str:
    """The page of this site a form was posted from, or ''."""
    back = request.META.get("HTTP_REFERER", "")
    if request.method == "POST" and url_has_allowed_host_and_scheme(
            back, {request.get_host()}, request.is_secure()):
        return back
    return ""


def said_on(page: str, *arguments: str, refusals: bool = False):
    """Declare where a page view's errors are said: on `page` (a URL name, reversed with the
    view's own `arguments` of those names), as a message the browser is sent back with.
    Refusals keep their own pages (403, 404), unless `refusals` (then a 403 too is said on
    `page`: for a form only some users are shown, whose others are told why there)."""
    def decorate(view):
        @functools.wraps(view)
        def answering(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except ConsoleError as error:
                taken = not isinstance(error, REFUSALS) or (
                    refusals and isinstance(error, Forbidden))
                if not taken:
                    raise
                back = reverse(page, kwargs={name: kwargs[name] for name in arguments})
                return page_answer(request, error, back)
        return answering
    return decorate


def on_form(form, error: ConsoleError, names: dict | None = None) -> None:
    """Put `error`'s problems beside the fields of `form` they name (`names`: the form's name
    of a field, where it is not the request's); the others, and a plain message, above it."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, problems in error.fields.items():
        name = (names or {}).get(name, name)
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


# -- every answer under /api/ as JSON ------------------------------------------------------------

# Pages that live under /api/ (the endpoint list is for people).
PAGES_UNDER_API = ("/api/docs/",)
# Headers an error's meaning depends on.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
DETAILS = {400: Invalid.default_message, 401: NotAuthenticated.default_message,
           403: Forbidden.default_message, 404: NotFound.default_message,
           413: TooLarge.default_message, 500: ConsoleError.default_message}


def is_api(request) -> bool:
    path = request.path_info
    return path.startswith("/api/") and not path.startswith(PAGES_UNDER_API)


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def redis_unreachable(error: BaseException) -> bool:
    """Whether `error` means Redis (broker or channel layer) cannot be reached."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import (
        ConnectionError as RedisConnectionError,
        TimeoutError as RedisTimeoutError,
    )

    return isinstance(error, (RedisUnreachable, OperationalError, RedisConnectionError,
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
    """See the module's docstring. First in MIDDLEWARE, so it sees every other answer; its
    `process_exception` answers the console's errors that no view took (plain views, pages)."""

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
            if not isinstance(exception, RedisUnreachable):
                exception = RedisUnreachable()
        if isinstance(exception, ConsoleError):
            if is_api(request):
                return JsonResponse(exception.data, status=exception.status)
            return page_answer(request, exception)
        return None
