"""`/api/containers/`: list, run, inspect, act on and remove containers.

A container is addressed by its 64-hex engine ID, a unique prefix of it, or its name. Actions
answer with the job (202), or with the finished job (200) when `?wait=1`.
"""
from django.db.models.fields.json import KT
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response

from console.containers import actions
from console.containers.lookup import visible_container
from console.containers.models import Container
from console.containers.redaction import redacted_inspect
from console.containers.run_request import RunSerializer
from console.core.api import json_object
from console.core.errors import Invalid
from console.hosts.models import online_filter
from console.jobs.api import WAIT, JobSerializer, job_response
from console.teams.models import Team

FORCE = OpenApiParameter("force", bool, description="stop a running container first")
VOLUMES = OpenApiParameter("volumes", bool, description="also remove its anonymous volumes "
                                                        "(named volumes are kept)")


class ContainerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="engine_id", read_only=True)
    host = serializers.CharField(source="host.name", read_only=True)
    team = serializers.SerializerMethodField()
    image = serializers.CharField(source="image_ref", read_only=True)
    image_id = serializers.SerializerMethodField()
    cmd = serializers.JSONField(source="command", read_only=True)
    env = serializers.SerializerMethodField()
    network = serializers.SerializerMethodField()
    host_state = serializers.ChoiceField(
        choices=["online", "offline"], read_only=True,
        help_text="offline: the host sends no heartbeat, so `state` is the last one its engine "
                  "reported and may no longer hold (pages show the container as unknown)")

    class Meta:
        model = Container
        fields = ["id", "name", "host", "host_state", "image", "image_id", "team", "state",
                  "exit_code", "cmd", "env", "network", "options", "created_at", "started_at",
                  "finished_at", "updated_at"]
        read_only_fields = fields

    def get_team(self, obj) -> str | None:
        return obj.team.name if obj.team_id else None

    def get_image_id(self, obj) -> str | None:
        return obj.image.image_id if obj.image_id else None

    def get_env(self, obj) -> list[str]:
        # Names only: values may be secrets, and viewers see this too.
        return [item.split("=", 1)[0] for item in obj.env]

    def get_network(self, obj) -> str:
        """The network the container is on: the engine's word once it has reported (read
        without the rest of the inspect data, see `with_network`), else the request's."""
        return (getattr(obj, "engine_network", None) or obj.options.get("network")
                or "bridge")

    def to_representation(self, obj):
        # The fields above, built directly: lists of a thousand containers go through here,
        # and DRF's per-field machinery would cost several times as much.
        return {
            "id": obj.engine_id, "name": obj.name, "host": obj.host.name,
            "host_state": obj.host_state, "image": obj.image_ref,
            "image_id": self.get_image_id(obj),
            "team": self.get_team(obj), "state": obj.state, "exit_code": obj.exit_code,
            "cmd": obj.command, "env": self.get_env(obj), "network": self.get_network(obj),
            "options": obj.options,
            "created_at": api_time(obj.created_at), "started_at": api_time(obj.started_at),
            "finished_at": api_time(obj.finished_at), "updated_at": api_time(obj.updated_at),
        }


def with_network(queryset):
    """`queryset` with each row's network as the engine reported it (`engine_network`), read
    from the inspect data in the database, so lists need not load it whole."""
    return queryset.annotate(engine_network=KT("inspect_data__HostConfig__NetworkMode"))


def api_time(value):
    """A datetime as DRF writes it (ISO 8601, `Z` for UTC)."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ActionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, help_text="why (kept in the audit entry; "
                                   "the team may require one to kill, or to commit over a tag)")
    timeout = serializers.IntegerField(required=False)
    signal = serializers.CharField(required=False)
    repository = serializers.CharField(required=False)
    tag = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    changes = serializers.ListField(child=serializers.CharField(), required=False)


class AssignSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="the team's name")


class ContainerViewSet(viewsets.GenericViewSet):
    serializer_class = ContainerSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        queryset = with_network(Container.objects.restrict(self.request.user, "view")
                                .select_related("host", "team", "image"))
        params = self.request.query_params
        if params.get("host"):
            queryset = queryset.filter(host__name=params["host"])
        if params.get("state"):
            queryset = queryset.filter(state__in=params["state"].split(","))
        if params.get("host_state") in ("online", "offline"):
            online = online_filter("host__")
            queryset = queryset.filter(online if params["host_state"] == "online" else ~online)
        if params.get("name"):
            queryset = queryset.filter(name__icontains=params["name"])
        if params.get("team"):
            queryset = queryset.filter(team__name=params["team"])
        return queryset

    def get_object(self, verb: str = "view"):
        return visible_container(self.request.user, self.kwargs["pk"], verb=verb,
                                 audit_refusal=verb != "view", request=self.request,
                                 visible=self.get_queryset())

    def list(self, request):
        """Containers you may see, across hosts; filter with ?host=, ?state=, ?name=, ?team=,
        ?host_state=online|offline."""
        page = self.paginate_queryset(self.get_queryset().defer("inspect_data"))
        return self.get_paginated_response(ContainerSerializer(page, many=True).data)

    @extend_schema(request={"application/json": RunSerializer}, responses={202: JobSerializer},
                   description="Run (or with start=false, create) a container; returns the job.")
    def create(self, request):
        if not (request.content_type or "").startswith("application/json"):
            # A form cannot carry the lists (cmd, env, ports) a run request is made of.
            raise UnsupportedMediaType(request.content_type or "none",
                                       detail="Send the run request as JSON "
                                              "(Content-Type: application/json).")
        req = actions.check_run(request.user, json_object(request.data), request=request)
        container, job = actions.run(request.user, req, request=request)
        response = job_response(request, job)
        response.data["container"] = container.engine_id
        if req.placement:
            response.data["placement"] = req.placement
        return response

    def retrieve(self, request, pk=None):
        """One container, by engine ID, unique ID prefix or name."""
        return Response(ContainerSerializer(self.get_object()).data)

    @extend_schema(responses={202: JobSerializer}, parameters=[WAIT, FORCE, VOLUMES])
    def destroy(self, request, pk=None):
        """Remove the container (?force=1 also stops a running one; ?volumes=1 also removes
        its anonymous volumes, as `docker rm -v`; ?reason=... says why, which its team may
        require); returns the job."""
        params = {"force": request.query_params.get("force") in ("1", "true")}
        if request.query_params.get("volumes") in ("1", "true"):
            params["volumes"] = True
        reason = request.query_params.get("reason") or (
            request.data.get("reason") if isinstance(request.data, dict) else None)
        if reason:
            params["reason"] = reason
        return self._act(request, "remove", params)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def inspect(self, request, pk=None):
        """The engine's inspect output (environment values hidden)."""
        return Response(redacted_inspect(self.get_object().inspect_data))

    def _act(self, request, verb, params=None):
        container = self.get_object(verb)
        if params is None:
            params = json_object(request.data)
        job = actions.act(request.user, container, verb, request=request, params=params)
        return job_response(request, job)

    @extend_schema(request=ActionSerializer, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start the container; returns the job."""
        return self._act(request, "start")

    @extend_schema(request=ActionSerializer, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop the container (SIGTERM, then SIGKILL after `timeout` seconds); returns the job."""
        return self._act(request, "stop")

    @extend_schema(request=ActionSerializer, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def kill(self, request, pk=None):
        """Send `signal` (default KILL) to the container; returns the job."""
        return self._act(request, "kill")

    @extend_schema(request=ActionSerializer, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Restart the container; returns the job."""
        return self._act(request, "restart")

    @extend_schema(request=ActionSerializer, responses={202: JobSerializer}, parameters=[WAIT])
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        """Commit the container into an image (`repository`, `tag`, `message`, `changes`);
        returns the job."""
        return self._act(request, "commit")

    @extend_schema(request=AssignSerializer, responses=ContainerSerializer)
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        """Give the container to `team` (superusers), e.g. one made with `moor` on the host,
        which comes without a team."""
        container = self.get_object("assign")
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = Team.objects.filter(name=serializer.validated_data["team"]).first()
        if team is None:
            raise Invalid(fields={"team": ["No such team."]})
        actions.assign_team(request.user, container, team, request=request)
        return Response(ContainerSerializer(container).data)
