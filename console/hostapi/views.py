"""The host API's endpoints (`/api/agent/`, see the package's docstring). JSON in and out; each
endpoint reads exactly the fields it names (any other is refused), and acts on the host whose
key authenticated the request, never on one named in it.

    POST join/                      {"token"} (no key) -> {"host", "key", "redis", "queue"}
    POST hello/                     {"worker"} -> the agent's settings; jobs left running by
                                    another worker of the host fail
    POST heartbeat/                 {"worker", "facts", "capacity"}
    GET  key/                       {"host"}: the key stands (changes nothing)
    POST leave/                     the host's key is revoked
    POST jobs/{id}/claim/           {"worker"} -> what the job is (`jobs.spec`); 409 if it is
                                    not queued
    POST jobs/{id}/output/          {"worker", "offset", "text"}: what a pull or build printed
    POST jobs/{id}/finish/          {"worker", "state", "error", "result", "report"}
    GET  jobs/{id}/context/?worker= the build's context archive (bytes)
    POST jobs/{id}/images/          {"worker", "root", "images"} -> the images a build may use
    POST sync/                      {"root", "containers", "images", "volumes"} -> counts,
                                    the IDs whose `inspect` to send, and the team groups
                                    (`groups`: name, limits, quota) to keep
    POST sync/inspected/            {"containers": [inspect, ...]} -> counts
    POST groups/readings/           {"readings": {group: group_inspect}}: what the groups of
                                    the teams granted the host use (any other is refused)

A job named here must be the host's own (else 404), and, but for its claim, running for the
worker that claimed it (else 409).
"""
import re

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from console.core.errors import Conflict, ConsoleError, Forbidden, Invalid, NotFound
from console.hostapi import jobs, reconcile, team_groups
from console.hostapi.authentication import HostKeyAuthentication, IsHost
from console.hostapi.refusals import record_refusal
from console.hosts import keys
from console.images.models import BuildContext
from console.jobs import reaper, wire
from console.jobs.models import Job
from console.streams import publish

FACTS = {"kernel_version": (str, 100), "runtime_version": (str, 100),
         "engine_root": (str, 500), "cpus": (int, None), "memory": (int, None),
         "memory_available": (int, None)}
CAPACITY = ("memory_available", "disk_available", "containers_running")
MAX_LISTED = 20_000
MAX_OUTPUT_PIECE = wire.OUTPUT_HEAD_CHARS + wire.OUTPUT_TAIL_CHARS + 200


def refusal_of(exc) -> ConsoleError | None:
    """DRF's own refusals (no key, a method not taken, a body that is no JSON) as the
    console's error of their status, for the audit log; None for anything else."""
    if not isinstance(exc, drf_exceptions.APIException):
        return None
    error = ConsoleError(str(exc.detail))
    error.status = exc.status_code
    return error


@extend_schema(exclude=True)
class HostApiView(APIView):
    """A host API endpoint: the host's key, and every refusal audited (`hostapi.<action>`)."""

    authentication_classes = [HostKeyAuthentication]
    permission_classes = [IsHost]
    renderer_classes = [JSONRenderer]
    action = "request"

    @property
    def host(self):
        return self.request.auth.host

    def handle_exception(self, exc):
        refusal = exc if isinstance(exc, ConsoleError) else refusal_of(exc)
        if refusal is not None:
            host = getattr(self.request._request, "host", None)
            record_refusal(self.request, f"hostapi.{self.action}", refusal, host=host,
                           params=self.refusal_params())
        return super().handle_exception(exc)

    def refusal_params(self) -> dict:
        return {key: str(value)[:100] for key, value in self.kwargs.items()}

    def body(self, **fields) -> dict:
        """The request's JSON object with exactly the `fields` (name -> type, or a tuple
        (type, required)); refuses any other field, a missing one or a wrong type."""
        data = self.request.data
        if not isinstance(data, dict):
            raise Invalid("The body is a JSON object.")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise Invalid(f"Unknown fields: {', '.join(unknown)}.")
        out = {}
        for name, kind in fields.items():
            kind, required = kind if isinstance(kind, tuple) else (kind, True)
            if name not in data or data[name] is None:
                if required:
                    raise Invalid(fields={name: ["This field is required."]})
                out[name] = None
                continue
            value = data[name]
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                raise Invalid(fields={name: [f"Must be {getattr(kind, '__name__', kind)}."]})
            out[name] = value
        return out

    def worker(self, value: str) -> str:
        """The agent's worker identity, `<host>@<machine>:<pid>`."""
        if not re.fullmatch(rf"{re.escape(self.host.name)}@[^\s]{{1,120}}", value or ""):
            raise Invalid(fields={"worker": [f"A worker of {self.host.name} is "
                                             f"{self.host.name}@<machine>:<pid>."]})
        return value

    def job(self, job_id: int) -> Job:
        """One of this host's jobs; NotFound for any other (another host's, or none)."""
        job = (Job.objects.select_related("host", "team", "container", "requested_by")
               .filter(pk=job_id, host=self.host).first())
        if job is None:
            raise NotFound(f"No job {job_id} of host {self.host.name}.")
        return job


@extend_schema(exclude=True)
class Join(HostApiView):
    """A new host's one call without a key: its join token for its key."""

    authentication_classes = []
    permission_classes = [AllowAny]
    action = "join"

    def refusal_params(self) -> dict:
        token = self.request.data.get("token") if isinstance(self.request.data, dict) else None
        # The first characters, as the token's own audit entries name it ("prefix"): a key
        # named "token" is blanked as a secret, and the attempt could not be matched.
        return {"prefix": str(token)[:12]} if token else {}

    def post(self, request):
        token = self.body(token=str)["token"]
        host, key = keys.join(token, request=request._request)
        return Response({"host": host.name, "key": key, "queue": wire.queue_name(host.name),
                         "redis": settings.AGENT_REDIS_URL}, status=201)


class Hello(HostApiView):
    action = "hello"

    def post(self, request):
        worker = self.worker(self.body(worker=str)["worker"])
        reaped = reaper.fail(Job.objects.filter(host=self.host, state=Job.State.RUNNING)
                             .exclude(worker=worker),
                             "the host's worker stopped while running the job (it was "
                             "restarted)")
        return Response({"host": self.host.name, "reaped": reaped,
                         "heartbeat_seconds": settings.HOST_HEARTBEAT_SECONDS,
                         "sync_seconds": settings.HOST_SYNC_SECONDS})


class Heartbeat(HostApiView):
    action = "heartbeat"

    def post(self, request):
        data = self.body(worker=str, facts=dict, capacity=(dict, False))
        worker = self.worker(data["worker"])
        facts = {}
        for name, value in data["facts"].items():
            kind, longest = FACTS.get(name, (None, None))
            if kind is None or not isinstance(value, kind) or isinstance(value, bool) or (
                    longest and len(value) > longest):
                raise Invalid(fields={"facts": [f"Unknown or bad fact {name!r}."]})
            facts[name] = value
        capacity = data["capacity"] or {}
        if set(capacity) - set(CAPACITY) or not all(
                isinstance(value, int) and not isinstance(value, bool) and value >= 0
                for value in capacity.values()):
            raise Invalid(fields={"capacity": [f"Only {', '.join(CAPACITY)}, as numbers."]})
        reconcile.mark_seen(self.host, worker=worker, facts=dict(facts, capacity=capacity))
        return Response({"host": self.host.name, "state": "online"})


class KeyCheck(HostApiView):
    """Whether the key stands (a stream bridge whose websocket was refused asks)."""

    action = "key"

    def get(self, request):
        return Response({"host": self.host.name})


class Leave(HostApiView):
    action = "leave"

    def post(self, request):
        self.body()
        keys.leave(self.host, request=request._request)
        return Response({"host": self.host.name, "left": True})


class Claim(HostApiView):
    action = "claim"

    def post(self, request, job_id):
        worker = self.worker(self.body(worker=str)["worker"])
        job = self.job(job_id)
        if not Job.objects.claim(job.pk, worker):
            raise Conflict(f"Job {job.pk} is {job.state}: it was claimed before.")
        job.refresh_from_db()
        publish.job_changed(job)
        return Response(jobs.spec(job))


class Output(HostApiView):
    action = "output"

    def post(self, request, job_id):
        data = self.body(worker=str, offset=(int, False), text=str)
        job = jobs.running_for(self.host, self.job(job_id).pk, self.worker(data["worker"]))
        text, offset = data["text"], data["offset"]
        if len(text) > MAX_OUTPUT_PIECE or (offset or 0) + len(text) > MAX_OUTPUT_PIECE:
            raise Invalid(f"A job keeps at most {MAX_OUTPUT_PIECE} characters of output.")
        if offset is not None and offset != len(job.output):
            raise Conflict(f"The output is {len(job.output)} characters long, not "
                                f"{offset}: send it whole.")
        output = text if offset is None else job.output + text
        Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(output=output)
        publish.job_output(job, offset=offset, text=text if offset is not None else "")
        return Response({"length": len(output)})


class Finish(HostApiView):
    action = "finish"

    def post(self, request, job_id):
        data = self.body(worker=str, state=str, error=(str, False), result=(dict, False),
                         report=(dict, False))
        if data["state"] not in (Job.State.SUCCEEDED, Job.State.FAILED):
            raise Invalid(fields={"state": ["succeeded or failed"]})
        job = jobs.settle(self.job(job_id), worker=self.worker(data["worker"]),
                          state=data["state"], error=(data["error"] or "")[:4000],
                          result=data["result"] or {}, report=data["report"] or {})
        return Response({"id": job.pk, "state": job.state})


class Context(HostApiView):
    action = "context"

    def get(self, request, job_id):
        worker = self.worker(request.query_params.get("worker", ""))
        job = jobs.running_for(self.host, self.job(job_id).pk, worker)
        stored = BuildContext.objects.filter(job=job).first()
        if stored is None:
            raise NotFound(f"Job {job.pk} has no build context.")
        return HttpResponse(bytes(stored.archive), content_type="application/octet-stream")


class UsableImages(HostApiView):
    action = "images"

    def post(self, request, job_id):
        data = self.body(worker=str, root=str, images=list)
        job = jobs.running_for(self.host, self.job(job_id).pk, self.worker(data["worker"]))
        if job.kind != Job.Kind.BUILD:
            raise Invalid(f"Job {job.pk} is no build.")
        return Response(jobs.usable_images(job, listing(data["images"], "images"),
                                           data["root"]))


def listing(rows: list, name: str) -> list[dict]:
    """Engine summaries: objects with a string `Id`."""
    if len(rows) > MAX_LISTED or not all(isinstance(row, dict) and isinstance(
            row.get("Id"), str) and 0 < len(row["Id"]) <= 71 for row in rows):
        raise Invalid(fields={name: ["A list of the engine's objects, each with its Id."]})
    return rows


def volume_listing(rows: list) -> list[dict]:
    """The engine's volumes: objects with a string `Name`, `Labels` an object, `UsedBy` a list
    of container IDs and, if measured, `Size` a number of bytes."""
    if len(rows) > MAX_LISTED or not all(
            isinstance(row, dict) and isinstance(row.get("Name"), str)
            and 0 < len(row["Name"]) <= 255 and isinstance(row.get("Labels") or {}, dict)
            and isinstance(row.get("UsedBy") or [], list)
            and all(isinstance(user, str) for user in row.get("UsedBy") or [])
            and (row.get("Size") is None or (isinstance(row["Size"], int)
                                             and not isinstance(row["Size"], bool)))
            for row in rows):
        raise Invalid(fields={"volumes": ["A list of the engine's volumes, each with its Name."]})
    return rows


class Sync(HostApiView):
    action = "sync"

    def post(self, request):
        data = self.body(root=str, containers=list, images=list, volumes=(list, False))
        result = reconcile.sync_host(self.host, data["root"],
                                     listing(data["containers"], "containers"),
                                     listing(data["images"], "images"),
                                     None if data["volumes"] is None
                                     else volume_listing(data["volumes"]))
        refuse_foreign(request, self.host, result.pop("foreign"))
        result["groups"] = team_groups.sync_plan(self.host)
        return Response(result)


class GroupReadings(HostApiView):
    """What the host's team groups use: only groups of teams granted the host are kept; any
    other is refused and audited."""

    action = "groups"

    def post(self, request):
        readings = self.body(readings=dict)["readings"]
        if len(readings) > MAX_LISTED or not all(
                isinstance(document, dict) for document in readings.values()):
            raise Invalid(fields={"readings": ["An object of group name -> reading."]})
        result = team_groups.store_readings(self.host, readings)
        foreign = result.pop("foreign")
        if foreign:
            record_refusal(request, "hostapi.groups", Forbidden(
                f"Host {self.host.name} reported {len(foreign)} group(s) that are no team's "
                "granted the host; they were left out."), host=self.host,
                params={"groups": foreign[:20]})
        return Response(dict(result, refused=foreign))


class SyncInspected(HostApiView):
    action = "sync"

    def post(self, request):
        details = listing(self.body(containers=list)["containers"], "containers")
        result = reconcile.apply_details(self.host, details)
        refuse_foreign(request, self.host, result.pop("foreign"))
        return Response(result)


def refuse_foreign(request, host, engine_ids: list[str]) -> None:
    """A host reported containers that are another host's rows: left alone, and audited."""
    if engine_ids:
        record_refusal(request, "hostapi.report", Forbidden(
            f"Host {host.name} reported {len(engine_ids)} container(s) of another host; "
            "they were left alone."), host=host, params={"containers": engine_ids[:20]})


class NoSuchRoute(HostApiView):
    """Anything else under /api/agent/: 404, audited."""

    action = "route"

    def refuse(self, request, *args, **kwargs):
        raise NotFound("The host API has no such endpoint.")

    get = post = put = patch = delete = refuse
