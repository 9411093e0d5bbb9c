"""The agent's client of the host API (`/api/agent/`, console/hostapi/views.py has the
endpoints): JSON over HTTP(S), `Authorization: Host <key>`, the host's CA for https://.

What the console answers is the truth about a job: the agent runs a job only after claiming
it here (a notice on its queue says only which job to ask for), and reports what the engine
did here. A 401 means the host's key was revoked: `Revoked`, and the agent stops.
"""
import functools
import json
import logging
import ssl
import time
import urllib.error
import urllib.request

from console.agent import config as agent_config

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
# Calls that may be sent again after a connection failure or a 503/502/504: reports and
# readings are idempotent (a report names the worker and the job's state; the console keeps
# the first outcome). A claim is sent once: a lost answer leaves the job to the reaper.
RETRY_SECONDS = (0.5, 1, 2, 4, 8)


class ConsoleRefused(Exception):
    """The console refused the call (`status`, its `detail`)."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Revoked(ConsoleRefused):
    """401: the host's key is no longer valid."""


class Unreachable(Exception):
    """The console did not answer."""


class Untrusted(Unreachable):
    """The console answered with a certificate the host's CA did not sign, or for another
    name (`reason`: what the check said)."""

    def __init__(self, base: str, reason: str):
        super().__init__(f"{base}: its certificate is not trusted: {reason}")
        self.reason = reason


def urllib_transport(base: str, context):
    """`send(method, path, body bytes, headers) -> (status, body bytes, content type)` over
    urllib (TLS with `context`)."""
    def send(method, path, data, headers):
        request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS,
                                        context=context) as response:
                return response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get_content_type()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise Untrusted(base, reason.verify_message or str(reason)) from None
            raise Unreachable(f"{base}: {getattr(error, 'reason', error)}") from None
    return send


class ConsoleApi:
    def __init__(self, key: str, send):
        self.key = key
        self.send = send

    @classmethod
    def for_host(cls, config) -> "ConsoleApi":
        return cls(config.key, urllib_transport(config.console, config.ssl_context()
                                                if config.console.startswith("https:")
                                                else None))

    # -- the wire ---------------------------------------------------------------------------

    def call(self, method: str, path: str, body=None, *, retry: bool = True):
        """The answer's JSON (or bytes, for a binary answer); ConsoleRefused (Revoked) for a
        refusal, Unreachable when the console did not answer even after the retries."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Host {self.key}"
        if data is not None:
            headers["Content-Type"] = "application/json"
        delays = list(RETRY_SECONDS) if retry else []
        while True:
            try:
                status, content, kind = self.send(method, f"/api/agent/{path}", data, headers)
            except Unreachable:
                if not delays:
                    raise
                time.sleep(delays.pop(0))
                continue
            if status in (502, 503, 504) and delays:
                time.sleep(delays.pop(0))
                continue
            break
        if kind != "application/json":
            if 200 <= status < 300:
                return content
            raise refusal(status, content.decode("utf-8", "replace")[:500])
        answer = json.loads(content) if content else None
        if not 200 <= status < 300:
            detail = answer.get("detail") if isinstance(answer, dict) else None
            raise refusal(status, detail or json.dumps(answer)[:500])
        return answer

    # -- the endpoints ------------------------------------------------------------------------

    def hello(self, worker: str) -> dict:
        return self.call("POST", "hello/", {"worker": worker})

    def heartbeat(self, worker: str, facts: dict, capacity: dict) -> dict:
        return self.call("POST", "heartbeat/", {"worker": worker, "facts": facts,
                                                "capacity": capacity})

    def check_key(self) -> dict:
        """Whether the console takes the host's key (Revoked if not); changes nothing."""
        return self.call("GET", "key/", retry=False)

    def leave(self) -> dict:
        return self.call("POST", "leave/", {})

    def claim(self, job_id: int, worker: str) -> dict | None:
        """What the job is, now claimed by `worker`; None if it is not the host's or not
        queued (claimed before: a redelivered notice)."""
        try:
            return self.call("POST", f"jobs/{job_id}/claim/", {"worker": worker}, retry=False)
        except Revoked:
            raise
        except ConsoleRefused as error:
            if error.status in (404, 409):
                log.warning("job %s was not claimed: %s", job_id, error.detail)
                return None
            raise

    def output(self, job_id: int, worker: str, offset: int | None, text: str) -> dict:
        return self.call("POST", f"jobs/{job_id}/output/", {"worker": worker,
                                                            "offset": offset, "text": text})

    def finish(self, job_id: int, worker: str, state: str, *, error: str = "",
               result: dict | None = None, report: dict | None = None) -> dict:
        return self.call("POST", f"jobs/{job_id}/finish/", {
            "worker": worker, "state": state, "error": error, "result": result or {},
            "report": report or {}})

    def context(self, job_id: int, worker: str) -> bytes:
        from urllib.parse import quote

        return self.call("GET", f"jobs/{job_id}/context/?worker={quote(worker)}")

    def usable_images(self, job_id: int, worker: str, root: str, images: list) -> dict:
        return self.call("POST", f"jobs/{job_id}/images/", {"worker": worker, "root": root,
                                                            "images": images})

    def sync(self, root: str, containers: list, images: list, volumes: list) -> dict:
        return self.call("POST", "sync/", {"root": root, "containers": containers,
                                           "images": images, "volumes": volumes})

    def group_readings(self, readings: dict) -> dict:
        return self.call("POST", "groups/readings/", {"readings": readings})

    def sync_inspected(self, containers: list) -> dict:
        return self.call("POST", "sync/inspected/", {"containers": containers})


def refusal(status: int, detail: str) -> ConsoleRefused:
    return (Revoked if status == 401 else ConsoleRefused)(status, detail)


def join(console: str, token: str, cafile: str | None) -> dict:
    """Exchange a join token for the host's key: `{"host", "key", "redis", "queue"}`; over
    https://, the console's certificate checked (chain and name) against `cafile`, else the
    system's CAs (Untrusted when it does not pass)."""
    context = ssl.create_default_context(cafile=cafile) if console.startswith("https:") \
        else None
    api = ConsoleApi("", urllib_transport(console, context))
    return api.call("POST", "join/", {"token": token}, retry=False)


@functools.lru_cache(maxsize=1)
def get_api() -> ConsoleApi:
    """The process's client, with the host's key (unit tests replace it)."""
    return ConsoleApi.for_host(agent_config.current())
