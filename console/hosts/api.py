"""`/api/hosts/`: the hosts the user may see, with their state from heartbeats."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from console.hosts import actions
from console.hosts.models import Host
from console.jobs.api import JobSerializer


class HostSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    queue = serializers.CharField(read_only=True)
    root_changed = serializers.BooleanField(
        read_only=True, help_text="the worker serves another engine root than the one the "
                                  "host's rows were made from: syncs remove no row")

    class Meta:
        model = Host
        fields = ["id", "name", "queue", "state", "last_seen", "runtime_version",
                  "kernel_version", "cpus", "memory", "root_changed"]
        read_only_fields = fields

    def get_state(self, obj) -> str:
        return Host.State.ONLINE if obj.is_online else Host.State.OFFLINE


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
