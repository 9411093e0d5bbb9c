"""`/api/stacks/`: list, create, read, change (deploy), run and remove stacks; their versions and
rolling back to one; checking a file as it is typed.

A stack is addressed by its number (`id`). Creating one (`POST`) and changing its file
(`PATCH` with `compose`, `env` and `message`) deploy it: the answer is the job (202), or the
finished job with `?wait=1`. With `?dry_run=1` nothing changes: the host plans, and the answer
is `{"job", "plan", "diff"}` — which services would be created, recreated (and the settings
that changed), started, removed or left alone — once the plan is made (200), or at once with
the job still running (202) when the host takes longer than MOORAGE_STACK_PLAN_WAIT_SECONDS.

A deploy (create, change, a version again) is refused past the team's quota on the host (403,
`team alpha's quota on h1: ...`); `reason` (in the body; `?reason=` for `DELETE`) says why,
which the team may require for deploying and removing stacks (400 beside `reason` without).
"""
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response

from console.containers.api import AssignSerializer
from console.core.api import json_object
from console.core.errors import ConsoleError, Forbidden, Invalid
from console.core.permissions import may_somewhere
from console.jobs.api import WAIT, JobSerializer, job_response, wait
from console.stacks import actions, diffs, status as stack_status
from console.stacks.lookup import visible_stack
from console.stacks.models import Stack
from console.stacks.requests import problem_list, validate_stack
from console.teams.models import Team

DRY_RUN = OpenApiParameter("dry_run", bool, description="plan only: change nothing")
REASON_HELP = "why (kept in the audit entry; the team may require one)"
REASON = OpenApiParameter("reason", str, description=REASON_HELP)
VOLUMES = OpenApiParameter("volumes", bool, description="also remove the stack's volumes")


def shown_env(user, stack, text: str) -> str:
    """The .env as `user` may read it: whole for those who may deploy the stack, else the
    names with their values hidden (viewers see the stack; values may be secrets)."""
    if Stack.objects.allows(user, "create", stack):
        return text
    return "".join(f"{line.split('=', 1)[0]}=[redacted]\n" for line in text.splitlines()
                   if "=" in line and not line.lstrip().startswith("#"))


def api_time(value):
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ServiceSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField(help_text="its containers' (running, exited..., missing)")
    health = serializers.CharField(help_text="healthy, unhealthy, starting or empty")
    containers = serializers.ListField(child=serializers.DictField())
    ports = serializers.ListField(child=serializers.CharField(),
                                 help_text="published ports, ADDRESS:PORT->PORT/PROTO")


def service_json(service: stack_status.Service) -> dict:
    return {"name": service.name, "state": service.state, "health": service.health,
            "containers": [{"id": c.engine_id, "name": c.name, "state": c.state,
                            "health": stack_status.health_of(c)} for c in service.containers],
            "ports": [f"{port.published}->{port.target}" for port in service.ports]}


class StackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    host = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    state = serializers.CharField(help_text="running, partial, stopped, down or removing")
    made_outside = serializers.BooleanField(help_text="found on the host, not made here")
    version = serializers.IntegerField(allow_null=True, help_text="the current version")
    # Read only, as they are: the browsable API's form would show them as a fieldset with an
    # inline style that the Content-Security-Policy blocks.
    services = ServiceSerializer(many=True, read_only=True)
    compose = serializers.CharField(allow_null=True, help_text="the current file")
    env = serializers.CharField(allow_null=True, help_text="the current .env (values only "
                                                           "for those who may deploy)")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, stack):
        rows = self.context.get("rows")
        found = stack_status.services(stack, rows)
        current = stack.current
        detail = self.context.get("detail", False)
        return {
            "id": stack.pk, "name": stack.name, "host": stack.host.name,
            "team": stack.team.name if stack.team_id else None,
            "state": stack_status.state_of(stack, found), "made_outside": stack.made_outside,
            "version": current.number if current else None,
            "services": [service_json(service) for service in found],
            "compose": current.compose if current and detail else None,
            "env": shown_env(self.context["request"].user, stack, current.env)
            if current and detail else None,
            "created_at": api_time(stack.created_at), "updated_at": api_time(stack.updated_at),
        }


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    author = serializers.CharField()
    created_at = serializers.DateTimeField()
    message = serializers.CharField()
    redeploy_of = serializers.IntegerField(allow_null=True)
    services = serializers.ListField(child=serializers.CharField())
    job = serializers.DictField(allow_null=True, help_text="the deploy's job: id, state, error")
    compose = serializers.CharField()
    env = serializers.CharField()
    diff = serializers.CharField(help_text="against the version before it (diff -u)")
    reason = serializers.CharField(help_text="why it was deployed, where one was given")


def version_json(user, stack, version, previous) -> dict:
    job = version.job
    return {"number": version.number, "author": version.author_name,
            "created_at": api_time(version.created_at), "message": version.message,
            "redeploy_of": version.redeploy_of, "services": version.services,
            "job": {"id": job.pk, "state": job.state, "error": job.error} if job else None,
            "compose": version.compose, "env": shown_env(user, stack, version.env),
            "diff": diffs.between(previous, version), "reason": version.reason}


class StackRequestSerializer(serializers.Serializer):
    """The body of `POST /api/stacks/` (checked by `requests.validate_stack`)."""
    name = serializers.CharField(help_text="the Compose project's name on the host")
    host = serializers.CharField()
    team = serializers.CharField(required=False, help_text="your one team that may create "
                                                           "stacks, by default")
    compose = serializers.CharField(help_text="the Compose file's text (YAML)")
    env = serializers.CharField(required=False, help_text="the .env text (NAME=value lines)")
    message = serializers.CharField(required=False, help_text="what and why")
    reason = serializers.CharField(required=False, help_text=REASON_HELP)


class StackChangeSerializer(serializers.Serializer):
    """The body of `PATCH /api/stacks/{id}/`: what is not sent is kept."""
    compose = serializers.CharField(required=False)
    env = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, help_text=REASON_HELP)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, help_text=REASON_HELP)


PLAN_ANSWER = inline_serializer("StackPlan", {
    "job": JobSerializer(), "plan": serializers.DictField(allow_null=True),
    "diff": serializers.CharField()})
CHECK_ANSWER = inline_serializer("StackCheck", {
    "valid": serializers.BooleanField(),
    "problems": serializers.ListField(child=serializers.DictField()),
    "services": serializers.ListField(child=serializers.CharField())})


def plan_response(request, job, diff: str) -> Response:
    """A dry run's answer: the job, its plan once made, and the file's diff."""
    if settings.STACK_PLAN_WAIT_SECONDS > 0:
        job = wait(job, settings.STACK_PLAN_WAIT_SECONDS)
    final = job.state in (job.State.SUCCEEDED, job.State.FAILED)
    return Response({"job": JobSerializer(job).data, "plan": (job.result or {}).get("plan"),
                     "diff": diff}, status=status.HTTP_200_OK if final else
                    status.HTTP_202_ACCEPTED)


def dry_run(request) -> bool:
    return request.query_params.get("dry_run", "") in ("1", "true", "yes")


def json_body(request) -> dict:
    if not (request.content_type or "").startswith("application/json"):
        raise UnsupportedMediaType(request.content_type or "none",
                                   detail="Send the stack as JSON (Content-Type: "
                                          "application/json).")
    return json_object(request.data)


class StackViewSet(viewsets.GenericViewSet):
    serializer_class = StackSerializer

    def get_queryset(self):
        queryset = Stack.objects.restrict(self.request.user, "view").select_related(
            "host", "team")
        params = self.request.query_params
        for name, lookup in (("host", "host__name"), ("team", "team__name"),
                             ("name", "name__icontains")):
            if params.get(name):
                queryset = queryset.filter(**{lookup: params[name]})
        return queryset

    def get_object(self, verb: str = "view") -> Stack:
        return visible_stack(self.request.user, self.kwargs["pk"], verb=verb,
                             request=self.request, queryset=self.get_queryset())

    def shown(self, stack, **context) -> dict:
        return StackSerializer(stack, context={"request": self.request, **context}).data

    def list(self, request):
        """Stacks you may see, across hosts; filter with ?host=, ?team=, ?name=."""
        page = self.paginate_queryset(self.get_queryset().with_versions())
        rows = stack_status.rows_of(page)
        return self.get_paginated_response([self.shown(stack, rows=rows) for stack in page])

    @extend_schema(request=StackRequestSerializer, parameters=[WAIT, DRY_RUN],
                   responses={202: JobSerializer, 200: PLAN_ANSWER})
    def create(self, request):
        """Create a stack and deploy its first version (`name`, `host`, `team`, `compose`,
        `env`, `message`); returns the job and `stack`, its id. With ?dry_run=1: the plan."""
        data = json_body(request)
        reason = data.pop("reason", "")
        req = actions.check_create(request.user, data, request=request)
        if dry_run(request):
            job = actions.plan(request.user, req, request=request)
            return plan_response(request, job, diffs.unified("", req.compose, "/dev/null",
                                                             "version 1"))
        stack, job = actions.create(request.user, req, reason=reason, request=request)
        response = job_response(request, job)
        response.data["stack"] = stack.pk
        return response

    @extend_schema(responses=StackSerializer)
    def retrieve(self, request, pk=None):
        """One stack: its services and their containers, its current file and .env."""
        return Response(self.shown(self.get_object(), detail=True))

    @extend_schema(request=StackChangeSerializer, parameters=[WAIT, DRY_RUN],
                   responses={202: JobSerializer, 200: PLAN_ANSWER})
    def partial_update(self, request, pk=None):
        """Deploy a new version: `compose` and `env` (each kept when not sent) with its
        `message`; returns the job and `version`. With ?dry_run=1: the plan and the diff."""
        stack = self.get_object("deploy")
        data = json_body(request)
        reason = data.pop("reason", "")
        req = actions.check_change(request.user, stack, data, request=request)
        current = stack.current
        if dry_run(request):
            job = actions.plan(request.user, req, stack, request=request)
            number = current.number + 1 if current else 1
            return plan_response(request, job, diffs.unified(
                current.compose if current else "", req.compose,
                f"version {current.number}" if current else "/dev/null", f"version {number}"))
        version, job = actions.deploy(request.user, stack, req, reason=reason, request=request)
        response = job_response(request, job)
        response.data["version"] = version.number
        return response

    @extend_schema(responses={202: JobSerializer}, parameters=[WAIT, VOLUMES, REASON])
    def destroy(self, request, pk=None):
        """Take the stack down and forget it; ?volumes=1 also removes its volumes, ?reason=
        says why (its team may require one). Returns the job."""
        stack = self.get_object("remove")
        volumes = request.query_params.get("volumes", "") in ("1", "true", "yes")
        reason = request.query_params.get("reason") or (
            request.data.get("reason") if isinstance(request.data, dict) else None)
        return job_response(request, actions.remove(request.user, stack, volumes=volumes,
                                                     reason=reason, request=request))

    def _act(self, request, verb):
        stack = self.get_object(verb)
        return job_response(request, actions.act(request.user, stack, verb, request=request))

    @extend_schema(request=None, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start the stack's containers, each after its dependencies; returns the job."""
        return self._act(request, "start")

    @extend_schema(request=None, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop the stack's containers, dependents first; returns the job."""
        return self._act(request, "stop")

    @extend_schema(request=None, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Restart the stack's containers; returns the job."""
        return self._act(request, "restart")

    @extend_schema(request=None, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def down(self, request, pk=None):
        """Remove the stack's containers and networks, keeping its volumes and the stack (a
        deploy brings it up again); returns the job."""
        return self._act(request, "down")

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every deployed version, newest first: author, time, message, the file, and its
        diff against the version before."""
        stack = self.get_object()
        everything = list(stack.versions.select_related("job").order_by("number"))
        previous = dict(zip([v.number for v in everything[1:]], everything[:-1], strict=True))
        page = self.paginate_queryset(list(reversed(everything)))
        return self.get_paginated_response([version_json(request.user, stack, version,
                                                         previous.get(version.number))
                                            for version in page])

    @extend_schema(request=MessageSerializer, responses={202: JobSerializer},
                   parameters=[WAIT])
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]{1,9})/deploy",
            url_name="version-deploy")
    def version_deploy(self, request, pk=None, number=None):
        """Deploy version `number` again (roll back to it) as a new version; returns the job
        and `version`."""
        stack = self.get_object("deploy")
        data = json_object(request.data) if request.data else {}
        message = data.get("message") or ""
        if not isinstance(message, str):
            raise Invalid(fields={"message": ["Must be text."]})
        version, job = actions.redeploy(request.user, stack, int(number), message,
                                        reason=data.get("reason"), request=request)
        response = job_response(request, job)
        response.data["version"] = version.number
        return response

    @extend_schema(request=StackRequestSerializer, responses=CHECK_ANSWER)
    @action(detail=False, methods=["post"])
    def check(self, request):
        """Check a stack's file and .env as the host would read them and as your role allows
        (for the editor, as one types): `{"valid", "problems": [{"field", "line", "message"}],
        "services"}`. Give `stack` (an id) to check a new version of that stack, else
        `name`, `host` and `team` as for a new one. Nothing is made or recorded."""
        if not may_somewhere(request.user, "create"):
            raise Forbidden("You are in no team in which you may create stacks.")
        data = json_body(request)
        stack = None
        if data.get("stack") not in (None, ""):
            stack = visible_stack(request.user, data.pop("stack"))
            if not Stack.objects.allows(request.user, "create", stack):
                return Response({"valid": False, "services": [], "problems": [
                    {"field": None, "line": None,
                     "message": f"You may not deploy stack {stack.name}."}]})
            data = {key: value for key, value in data.items()
                    if key not in ("name", "host", "team")}
        try:
            req = validate_stack(request.user, data, stack=stack)
        except ConsoleError as error:
            return Response({"valid": False, "problems": problem_list(error), "services": []})
        return Response({"valid": True, "problems": [], "services": req.services})

    @extend_schema(request=AssignSerializer, responses=StackSerializer)
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        """Give the stack (and its containers and volumes without a team) to `team`
        (superusers): a stack made with `moor compose` or docker-compose on the host comes
        without one."""
        stack = self.get_object("assign")
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = Team.objects.filter(name=serializer.validated_data["team"]).first()
        if team is None:
            raise Invalid(fields={"team": ["No such team."]})
        actions.assign_team(request.user, stack, team, request=request)
        return Response(self.shown(stack, detail=True))

