"""`/api/jobs/`: read jobs (what was asked, of which host, and how it ended). One job also
has its `output`: what a pull or build printed, written while it runs.

Every action of the API answers with its job (`job_response`): 202 at once, or, with
`?wait=1`, 200 once the job is over (or when MOORAGE_JOB_WAIT_SECONDS have passed)."""
import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from console.audit.redact import redact
from console.jobs.models import Job

WAIT = OpenApiParameter("wait", bool, description="wait for the job to finish")


class JobSerializer(serializers.ModelSerializer):
    host = serializers.CharField(source="host.name", read_only=True)
    team = serializers.SerializerMethodField()
    container = serializers.CharField(source="target_id", read_only=True)
    requested_by = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "state", "error", "host", "team", "container", "target_name",
                  "requested_by", "params", "result", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_team(self, obj) -> str | None:
        return obj.team.name if obj.team_id else None

    def get_requested_by(self, obj) -> str | None:
        return obj.requested_by.username if obj.requested_by_id else None

    def get_params(self, obj) -> dict:
        # Viewers read jobs too: a commit's ENV values may be secrets, as a container's are.
        return redact(obj.params)


class JobDetailSerializer(JobSerializer):
    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["output"]
        read_only_fields = fields


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs you may see: what was asked of which host, by whom, and how it ended; one job
    with what it printed (`output`, for pulls and builds)."""

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    def get_queryset(self):
        queryset = (Job.objects.restrict(self.request.user, "view")
                    .select_related("host", "team", "requested_by"))
        if self.action != "retrieve":
            queryset = queryset.defer("output")
        params = self.request.query_params
        for name in ("state", "kind"):
            if params.get(name):
                queryset = queryset.filter(**{f"{name}__in": params[name].split(",")})
        if params.get("host"):
            queryset = queryset.filter(host__name=params["host"])
        if params.get("container"):
            queryset = queryset.filter(target_id__startswith=params["container"])
        return queryset


def wants_wait(request) -> bool:
    return request.query_params.get("wait", "") in ("1", "true", "yes")


def wait(job: Job, timeout: float | None = None) -> Job:
    """Poll until `job` is final or `timeout` passes (for `?wait=1`)."""
    deadline = time.monotonic() + (timeout or settings.JOB_WAIT_SECONDS)
    delay = 0.005
    while time.monotonic() < deadline:
        state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).first()
        if state in Job.FINAL_STATES:
            break
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    job.refresh_from_db()
    return job


def job_response(request, job, serializer=JobSerializer) -> Response:
    """The job an action made: 202 at once, or 200 when it is over with `?wait=1`."""
    if wants_wait(request):
        return Response(serializer(wait(job)).data, status=status.HTTP_200_OK)
    return Response(serializer(job).data, status=status.HTTP_202_ACCEPTED)
