"""`/api/hosts/`: the hosts the user may see, with their state from heartbeats; what
superusers do to them: sync, accept a new engine root, cordon, uncordon, drain, remove, revoke
a host's key (`POST /api/hosts/{id}/revoke-key/`), and let a machine join: make a join token
(`POST /api/hosts/join-tokens/`), list those outstanding (`GET`) and revoke one
(`DELETE /api/hosts/join-tokens/{id}/`)."""
from dataclasses import asdict

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from console.core.api import json_object
from console.core.errors import Forbidden, Invalid
from console.hosts import actions, keys, maintenance, removal
from console.hosts.models import Host, HostKey
from console.hosts.placement import room_of, rooms
from console.jobs.api import JobSerializer


class HostSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    queue = serializers.CharField(read_only=True)
    root_changed = serializers.BooleanField(
        read_only=True, help_text="the worker serves another engine root than the one the "
                                  "host's rows were made from: syncs remove no row")
    memory_free = serializers.SerializerMethodField(
        help_text="bytes placement counts as free: the last heartbeat's available memory less "
                  "the limits of the containers that run there or are about to")

    class Meta:
        model = Host
        fields = ["id", "name", "queue", "state", "cordoned", "last_seen", "runtime_version",
                  "kernel_version", "cpus", "memory", "memory_available", "memory_free",
                  "capacity", "root_changed", "joined"]
        read_only_fields = fields

    joined = serializers.SerializerMethodField(
        help_text="the host holds a key (its agent may act; false once revoked or left)")

    def get_state(self, obj) -> str:
        return Host.State.ONLINE if obj.is_online else Host.State.OFFLINE

    def get_joined(self, obj) -> bool:
        return HostKey.objects.filter(host=obj).exists()
    def get_memory_free(self, obj) -> int:
        room = (self.context.get("rooms") or {}).get(obj.pk) or room_of(obj)
        return room.free


class DrainSerializer(serializers.Serializer):
    stop = serializers.BooleanField(required=False, default=False,
                                    help_text="also stop every container running there")
    confirm = serializers.CharField(required=False, allow_blank=True,
                                    help_text="the host's name: needed with `stop`")


CONFIRM = OpenApiParameter("confirm", str, required=True,
                           description="the host's name, to confirm its removal")


class HostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Hosts granted to your teams, with their state from heartbeats."""

    serializer_class = HostSerializer

    def get_queryset(self):
        return Host.objects.restrict(self.request.user, "view")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "rooms": rooms(page)}
        return self.get_paginated_response(HostSerializer(page, many=True, context=context).data)

    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Reconcile the host with its engine now (superusers); returns the job."""
        job = actions.sync(request.user, self.get_object(), request=request)
        return Response(JobSerializer(job).data, status=202)

    @extend_schema(request=None, responses=HostSerializer)
    @action(detail=True, methods=["post"], url_path="accept-root")
    def accept_root(self, request, pk=None):
        """Accept the engine root the host's worker now reports as the one its rows mirror
        (superusers): later syncs may remove the rows that root does not have."""
        host = actions.accept_root(request.user, self.get_object(), request=request)
        return Response(HostSerializer(host).data)

    @extend_schema(request=None, responses=HostSerializer)
    @action(detail=True, methods=["post"], url_path="revoke-key")
    def revoke_key(self, request, pk=None):
        """Revoke the host's key (superusers): its agent is refused everywhere and stops."""
        host = self.get_object()
        keys.revoke(request.user, host, request=request)
        return Response(HostSerializer(host).data)

    @extend_schema(request=None, responses=HostSerializer)
    @action(detail=True, methods=["post"])
    def cordon(self, request, pk=None):
        """No new containers on the host (superusers); those there run on untouched."""
        return Response(HostSerializer(maintenance.cordon(
            request.user, self.get_object(), request=request)).data)

    @extend_schema(request=None, responses=HostSerializer)
    @action(detail=True, methods=["post"])
    def uncordon(self, request, pk=None):
        """The host takes new containers again (superusers)."""
        return Response(HostSerializer(maintenance.uncordon(
            request.user, self.get_object(), request=request)).data)

    @extend_schema(request=DrainSerializer, responses=inline_serializer("DrainResult", {
        "host": HostSerializer(), "running": serializers.ListField(child=serializers.DictField()),
        "jobs": JobSerializer(many=True), "skipped": serializers.ListField(
            child=serializers.CharField())}))
    @action(detail=True, methods=["post"])
    def drain(self, request, pk=None):
        """Cordon the host and list every container running there (superusers). Nothing is
        stopped unless `stop` is true and `confirm` is the host's name: then each gets a stop
        job."""
        serializer = DrainSerializer(data=json_object(request.data))
        serializer.is_valid(raise_exception=True)
        result = maintenance.drain(request.user, self.get_object(),
                                   stop=serializer.validated_data["stop"],
                                   confirm=serializer.validated_data.get("confirm", ""),
                                   request=request)
        return Response({
            "host": HostSerializer(result.host).data,
            "running": [running_entry(request, c) for c in result.running],
            "jobs": JobSerializer(result.jobs, many=True).data,
            "skipped": result.skipped,
        })

    @extend_schema(parameters=[CONFIRM], responses=inline_serializer("HostRemoved", {
        "host": serializers.CharField(), "containers": serializers.IntegerField(),
        "images": serializers.IntegerField(), "commits": serializers.IntegerField(),
        "credentials": serializers.IntegerField()}))
    def destroy(self, request, pk=None):
        """Remove an offline host (superusers, `?confirm=<its name>`): what the console knew of
        its containers, images and commits is archived in the audit log, its credentials are
        revoked, and its rows go."""
        removed = removal.remove(request.user, self.get_object(),
                                 confirm=request.query_params.get("confirm", ""),
                                 request=request)
        return Response(asdict(removed))


def running_entry(request, container) -> dict:
    """A container a drain lists, with where to see it (its page) and act on it (the API)."""
    return {"id": container.engine_id, "name": container.name,
            "team": container.team.name if container.team_id else None,
            "state": container.state, "image": container.image_ref,
            "page": request.build_absolute_uri(
                reverse("container-detail", kwargs={"ref": container.engine_id})),
            "url": request.build_absolute_uri(
                reverse("api:container-detail", kwargs={"pk": container.engine_id}))}


class JoinTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=63, help_text="the host's name")
    teams = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                  help_text="the teams it is granted to (names)")
    expires_in = serializers.IntegerField(
        required=False, help_text=f"seconds (default 3600): {keys.TOKEN_LIFETIME}")
    token = serializers.CharField(read_only=True, help_text="shown once, when it is made")
    expires_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(read_only=True, help_text="who made it")


def join_token_data(token, secret: str | None = None) -> dict:
    data = {"id": token.pk, "name": token.name,
            "teams": sorted(team.name for team in token.teams.all()),
            "expires_at": token.expires_at,
            "created_by": token.created_by.username if token.created_by else None}
    if secret is not None:
        data["token"] = secret
    return data


class JoinTokenView(APIView):
    """Join tokens (superusers): each lets one machine join as host `name`, with
    `./moorage join URL TOKEN` on it."""

    @extend_schema(responses=JoinTokenSerializer(many=True))
    def get(self, request):
        """The join tokens not used and not expired, without their secret (shown only when one
        is made)."""
        if not request.user.is_superuser:
            raise Forbidden("Only a superuser may see join tokens.")
        return Response([join_token_data(token) for token in keys.outstanding_join_tokens()])

    @extend_schema(request=JoinTokenSerializer, responses={201: JoinTokenSerializer})
    def post(self, request):
        """A single-use token for host `name`, granted to `teams` once it joins, valid
        `expires_in` seconds: its `token` is in this answer and nowhere else."""
        data = JoinTokenSerializer(data=request.data)
        if not data.is_valid():
            raise Invalid(fields=data.errors)
        token, secret = keys.make_join_token(request.user, data.validated_data["name"],
                                             data.validated_data["teams"],
                                             seconds=data.validated_data.get("expires_in"),
                                             request=request)
        return Response(join_token_data(token, secret), status=201)


class JoinTokenDetailView(APIView):
    """One join token (superusers)."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk):
        """Revoke a join token that has not been used: nothing can join with it."""
        keys.revoke_join_token(request.user, pk, request=request)
        return Response(status=204)
