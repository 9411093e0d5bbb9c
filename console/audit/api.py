"""`/api/audit/`: the audit log, read-only. Team members see their teams' entries (and their
own that name no team or host, such as their refusals), superusers everything."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from console.audit.export import export_response
from console.audit.filters import AuditFilterForm, parts, visible_entries
from console.audit.models import AuditEntry
from console.core.errors import Invalid


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


FILTERS = [OpenApiParameter(name, str, description=str(field.help_text or name))
           for name, field in AuditFilterForm.base_fields.items()]


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit log, read-only, newest first. Filters: ?user=, ?team=, ?action= (`container.*`
    for a prefix), ?target= (a name, an ID or its start), ?host=, ?result=, ?since=, ?until=
    (dates or date-times, UTC)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self):
        form, entries = visible_entries(self.request.user, self.request.query_params)
        if not form.is_valid():
            raise Invalid(fields=form.errors)
        return entries.select_related("job")

    @extend_schema(parameters=FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): str,
                                                  (200, "application/json"): str})
    @action(detail=False, methods=["get"], url_path="export/(?P<kind>csv|json)")
    def export(self, request, kind=None):
        """Everything the filters select, streamed as CSV or as a JSON array."""
        return export_response(request, parts(request.user, self.get_queryset()), kind)
