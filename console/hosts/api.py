"""`/api/hosts/`: the hosts the user may see, with their state from heartbeats."""
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from console.hosts.models import Host


class HostSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    queue = serializers.CharField(read_only=True)

    class Meta:
        model = Host
        fields = ["id", "name", "queue", "state", "last_seen", "runtime_version",
                  "kernel_version", "cpus", "memory"]
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
        from console.containers import actions
        from console.jobs.api import JobSerializer

        job = actions.sync(request.user, self.get_object(), request=request)
        return Response(JobSerializer(job).data, status=202)
