"""`/api/hosts/`: the hosts the user may see, with their state from heartbeats; a superuser
lets a machine join (`POST /api/hosts/join-tokens/`) and revokes a host's key
(`POST /api/hosts/{id}/revoke-key/`)."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from console.core.errors import Invalid
from console.hosts import actions, keys
from console.hosts.models import Host, HostKey
from console.jobs.api import JobSerializer
from console.teams.models import Team


class HostSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    queue = serializers.CharField(read_only=True)
    root_changed = serializers.BooleanField(
        read_only=True, help_text="the worker serves another engine root than the one the "
                                  "host's rows were made from: syncs remove no row")

    class Meta:
        model = Host
        fields = ["id", "name", "queue", "state", "last_seen", "runtime_version",
                  "kernel_version", "cpus", "memory", "capacity", "root_changed", "joined"]
        read_only_fields = fields

    joined = serializers.SerializerMethodField(
        help_text="the host holds a key (its agent may act; false once revoked or left)")

    def get_state(self, obj) -> str:
        return Host.State.ONLINE if obj.is_online else Host.State.OFFLINE

    def get_joined(self, obj) -> bool:
        return HostKey.objects.filter(host=obj).exists()


class HostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Hosts granted to your teams, with their state from heartbeats."""

    serializer_class = HostSerializer

    def get_queryset(self):
        return Host.objects.restrict(self.request.user, "view")

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


class JoinTokenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63, help_text="the host's name")
    teams = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                  help_text="the teams it is granted to (names)")
    expires_in = serializers.IntegerField(required=False, help_text="seconds (default 3600)")
    token = serializers.CharField(read_only=True, help_text="shown once")
    expires_at = serializers.DateTimeField(read_only=True)


class JoinTokenView(APIView):
    """A single-use token that lets one machine join as host `name` (superusers):
    `./moorage join URL TOKEN` on it."""

    @extend_schema(request=JoinTokenSerializer, responses={201: JoinTokenSerializer})
    def post(self, request):
        data = JoinTokenSerializer(data=request.data)
        if not data.is_valid():
            raise Invalid(fields=data.errors)
        names = data.validated_data["teams"]
        teams = list(Team.objects.filter(name__in=names)) if request.user.is_superuser else []
        unknown = sorted(set(names) - {team.name for team in teams})
        if unknown and request.user.is_superuser:
            raise Invalid(fields={"teams": [f"No team {name!r}." for name in unknown]})
        token, secret = keys.make_join_token(request.user, data.validated_data["name"], teams,
                                             seconds=data.validated_data.get("expires_in"),
                                             request=request)
        return Response({"name": token.name, "teams": [team.name for team in teams],
                         "expires_at": token.expires_at, "token": secret}, status=201)
