"""`/api/quotas/`: teams' quotas per host, each with the last reading of what the team's group
uses there. Superusers set (`POST`, `PATCH`) and remove (`DELETE`) them; team admins read their
teams'. Memory and disk are bytes (a unit is accepted when setting: `"128m"`), 0 is no limit."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from console.core.api import json_object
from console.core.errors import Invalid
from console.core.permissions import require_superuser
from console.hosts.models import Host
from console.quotas import actions
from console.quotas.limits import read_limits
from console.quotas.models import GroupReading, Quota
from console.teams.models import Team


def reading_data(reading: GroupReading | None) -> dict | None:
    """What a reading says, in the API's words (None: the host has not reported yet)."""
    if reading is None:
        return None
    usage = reading.usage or {}
    memory, pids = usage.get("Memory") or {}, usage.get("Pids") or {}
    containers, disk = usage.get("Containers") or {}, usage.get("Disk") or {}
    return {"read_at": reading.read_at, "memory": memory.get("Current", 0),
            "memory_max": memory.get("Max", 0), "memory_failures": memory.get("FailCount", 0),
            "oom_kills": memory.get("OOMKills"),
            "cpu_seconds": round((usage.get("Cpu") or {}).get("UsageNanos", 0) / 1e9, 3),
            "cpus_in_use": reading.cpus_in_use,
            "pids": pids.get("Current", 0), "pids_max": pids.get("Max", 0),
            "containers_running": containers.get("Running", 0),
            "containers": containers.get("Total", 0),
            "disk": disk.get("Total", 0), "disk_layers": disk.get("WritableLayers", 0),
            "disk_volumes": disk.get("Volumes", 0)}


class QuotaSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name")
    host = serializers.CharField(source="host.name")
    group = serializers.CharField(source="team.group", read_only=True)
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Quota
        fields = ["id", "team", "host", "group", "memory", "cpus", "pids", "containers", "disk",
                  "usage", "updated_at"]
        read_only_fields = ["id", "group", "usage", "updated_at"]

    def get_usage(self, obj) -> dict | None:
        return reading_data(GroupReading.objects.filter(team=obj.team, host=obj.host).first())


class QuotaRequestSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="the team's name or number")
    host = serializers.CharField(help_text="the host's name or number")
    memory = serializers.CharField(required=False, help_text="bytes, or e.g. 128m")
    cpus = serializers.FloatField(required=False)
    pids = serializers.IntegerField(required=False)
    containers = serializers.IntegerField(required=False, help_text="running at once")
    disk = serializers.CharField(required=False, help_text="bytes, or e.g. 10g")


def named(model, value, field: str):
    value = str(value or "")
    lookup = {"pk": value} if value.isdigit() else {"name": value}
    found = model.objects.filter(**lookup).first() if value else None
    if found is None:
        raise Invalid(fields={field: [f"No such {field}: {value}."]})
    return found


class QuotaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quotas of the teams you administer (all, for superusers), with what each uses."""

    serializer_class = QuotaSerializer

    def get_queryset(self):
        queryset = Quota.objects.restrict(self.request.user, "view").select_related("team", "host")
        for name in ("team", "host"):
            if self.request.query_params.get(name):
                queryset = queryset.filter(**{f"{name}__name": self.request.query_params[name]})
        return queryset

    @extend_schema(request=QuotaRequestSerializer, responses={201: QuotaSerializer})
    def create(self, request):
        """Set a team's quota on a host (superusers): the limits not sent are none. `job` is
        the job applying it on the host (null while the host is offline: it gets the quota
        at its next sync)."""
        require_superuser(request.user, "quota.set", request=request)
        data = json_object(request.data)
        team, host = named(Team, data.get("team"), "team"), named(Host, data.get("host"), "host")
        unknown = sorted(set(data) - {"team", "host", *Quota.LIMITS})
        if unknown:
            raise Invalid(fields={name: [f"Unknown field {name!r}."] for name in unknown})
        quota, job = actions.set_quota(request.user, team, host, request=request,
                                       **read_limits(data, host))
        return Response({**QuotaSerializer(quota).data, "job": job.pk if job else None},
                        status=201)

    @extend_schema(request=QuotaRequestSerializer, responses=QuotaSerializer)
    def partial_update(self, request, pk=None):
        """Change some of a quota's limits (superusers)."""
        quota = self.get_object()
        require_superuser(request.user, "quota.set", request=request, team=quota.team,
                          host=quota.host, target=quota.team)
        data = json_object(request.data)
        unknown = sorted(set(data) - set(Quota.LIMITS))
        if unknown:
            raise Invalid(fields={name: [f"Unknown field {name!r}."] for name in unknown})
        given = read_limits(data, quota.host)
        limits = {name: given[name] if name in data else getattr(quota, name)
                  for name in Quota.LIMITS}
        quota, job = actions.set_quota(request.user, quota.team, quota.host, request=request,
                                       **limits)
        return Response({**QuotaSerializer(quota).data, "job": job.pk if job else None})

    def destroy(self, request, pk=None):
        """Remove the quota (superusers): the team's group keeps no limits."""
        quota = self.get_object()
        actions.remove_quota(request.user, quota, request=request)
        return Response(status=204)
