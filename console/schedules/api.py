"""`/api/schedules/`: scheduled actions on containers and stacks. Members of a team see its
schedules; its developers and admins make (`POST`: `container` or `stack`, `action`, `cron`,
`params`), pause, resume and delete them. Each shows its next runs and how its last one
went."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from console.containers.lookup import visible_container
from console.core.api import json_object
from console.core.errors import Invalid
from console.schedules import actions, cron
from console.schedules.models import Schedule
from console.stacks.lookup import visible_stack

NEXT_RUNS = 5


def upcoming(schedule: Schedule, count: int = NEXT_RUNS) -> list:
    """The next times the schedule fires (none while paused)."""
    if schedule.paused or schedule.next_run_at is None:
        return []
    return [schedule.next_run_at] + cron.next_runs(schedule.cron, schedule.next_run_at,
                                                   count - 1)


class ScheduleSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", read_only=True)
    container = serializers.SerializerMethodField(help_text="its container's ID (or null)")
    container_name = serializers.SerializerMethodField()
    stack = serializers.SerializerMethodField(help_text="its stack's id (or null): redeploy")
    stack_name = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner_name", read_only=True)
    next_runs = serializers.SerializerMethodField()
    params = serializers.JSONField(required=False, help_text=(
        "commit: repository, tag (a pattern: {date} {time} {datetime} {run}, e.g. "
        "nightly-{date}), message; redeploy: message; any action: reason"))

    class Meta:
        model = Schedule
        fields = ["id", "team", "container", "container_name", "stack", "stack_name", "action",
                  "cron", "params",
                  "owner", "paused", "next_runs", "runs", "last_run_at", "last_result",
                  "last_error", "last_job", "created_at"]
        read_only_fields = ["id", "team", "container_name", "owner", "paused", "next_runs",
                            "runs", "last_run_at", "last_result", "last_error", "last_job",
                            "created_at"]

    def get_container(self, obj) -> str | None:
        return obj.container.engine_id if obj.container_id else None

    def get_container_name(self, obj) -> str | None:
        return obj.container.name if obj.container_id else None

    def get_stack(self, obj) -> int | None:
        return obj.stack_id

    def get_stack_name(self, obj) -> str | None:
        return obj.stack.name if obj.stack_id else None

    def get_next_runs(self, obj) -> list[str]:
        return [moment.isoformat().replace("+00:00", "Z") for moment in upcoming(obj)]


class ScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Schedules of your teams' containers and stacks; `?container=` (ID or name), `?stack=`
    (id) and `?team=` filter."""

    serializer_class = ScheduleSerializer

    def get_queryset(self):
        queryset = (Schedule.objects.restrict(self.request.user, "view")
                    .select_related("team", "container__host", "stack__host"))
        params = self.request.query_params
        if params.get("team"):
            queryset = queryset.filter(team__name=params["team"])
        if params.get("container"):
            ref = params["container"]
            queryset = queryset.filter(container__engine_id__startswith=ref) | queryset.filter(
                container__name=ref)
        if params.get("stack"):
            if not params["stack"].isdigit():
                raise Invalid(fields={"stack": ["A stack's id."]})
            queryset = queryset.filter(stack_id=int(params["stack"]))
        return queryset

    @extend_schema(request=ScheduleSerializer, responses={201: ScheduleSerializer})
    def create(self, request):
        """Schedule `action` (start, stop, restart, commit) on `container`, or `redeploy`
        (its current version again) of `stack` (an id), at `cron` (five fields, UTC, or
        @hourly, @daily...): it runs as you, with the rights you have when it fires."""
        data = json_object(request.data)
        unknown = sorted(set(data) - {"container", "stack", "action", "cron", "params"})
        if unknown:
            raise Invalid(fields={name: [f"Unknown field {name!r}."] for name in unknown})
        if "stack" in data:
            if "container" in data:
                raise Invalid(fields={"stack": ["A container or a stack, not both."]})
            if isinstance(data["stack"], bool) or not isinstance(data["stack"], (int, str)) \
                    or not str(data["stack"]).isdigit():
                raise Invalid(fields={"stack": ["A stack's id."]})
            stack = visible_stack(request.user, int(data["stack"]), verb="schedule",
                                  request=request)
            schedule = actions.create_stack_schedule(request.user, stack, data.get("action"),
                                                     data.get("cron"), data.get("params") or {},
                                                     request=request)
            return Response(ScheduleSerializer(schedule).data, status=201)
        if not isinstance(data.get("container"), str) or not data["container"]:
            raise Invalid(fields={"container": ["This field is required."]})
        container = visible_container(request.user, data["container"], verb="schedule",
                                      audit_refusal=True, request=request)
        schedule = actions.create_schedule(request.user, container, data.get("action"),
                                           data.get("cron"), data.get("params") or {},
                                           request=request)
        return Response(ScheduleSerializer(schedule).data, status=201)

    def destroy(self, request, pk=None):
        """Delete the schedule (the team's developers and admins)."""
        actions.delete_schedule(request.user, self.get_object(), request=request)
        return Response(status=204)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause the schedule: it fires no more until resumed."""
        return Response(ScheduleSerializer(actions.set_paused(
            request.user, self.get_object(), True, request=request)).data)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Resume the schedule: it fires next at its next time from now (missed runs are not
        made up)."""
        return Response(ScheduleSerializer(actions.set_paused(
            request.user, self.get_object(), False, request=request)).data)
