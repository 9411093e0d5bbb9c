"""`/api/audit/`: the audit log, read-only. Team members see their teams' entries (and their
own), superusers everything."""
from rest_framework import mixins, serializers, viewsets

from console.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")
    team = serializers.CharField(source="team_name")
    host = serializers.CharField(source="host_name")
    job = serializers.PrimaryKeyRelatedField(read_only=True)
    job_state = serializers.SerializerMethodField()
    job_error = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["id", "time", "actor", "team", "action", "target_type", "target_id",
                  "target_name", "host", "params", "result", "error", "job", "job_state",
                  "job_error", "source_ip", "user_agent"]
        read_only_fields = fields

    def get_job_state(self, obj) -> str | None:
        return obj.job.state if obj.job_id else None

    def get_job_error(self, obj) -> str | None:
        return obj.job.error if obj.job_id else None


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit log, read-only; filter with ?action=, ?result=, ?team=, ?user=, ?host=, ?target=."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self):
        queryset = AuditEntry.objects.restrict(self.request.user, "view").select_related("job")
        params = self.request.query_params
        for name, field in (("action", "action"), ("result", "result"), ("team", "team_name"),
                            ("user", "actor_name"), ("host", "host_name"),
                            ("target", "target_id")):
            if params.get(name):
                queryset = queryset.filter(**{field: params[name]})
        return queryset
