"""`/api/volumes/`: list volumes per host (`?host=`), make one (`POST`: `name`, `host`,
`team`), remove one (`DELETE`, refused with 409 while a container names it), give one to a
team (superusers). Making and removing answer with the job (202), or the finished job with
`?wait=1`."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from console.containers.api import AssignSerializer
from console.core.api import json_object
from console.core.errors import Invalid
from console.jobs.api import WAIT, JobSerializer, job_response
from console.teams.models import Team
from console.volumes import actions
from console.volumes.lookup import visible_volume
from console.volumes.models import Volume
from console.volumes.presentation import users_of


def api_time(value):
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class VolumeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    host = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    stack = serializers.CharField(allow_null=True, help_text="the stack (Compose project) "
                                                             "that made it")
    anonymous = serializers.BooleanField()
    size = serializers.IntegerField(allow_null=True, help_text="bytes (null: not measured "
                                                               "yet)")
    used_by = serializers.ListField(child=serializers.DictField(),
                                    help_text="the containers you may see that use it")
    used_by_others = serializers.IntegerField(help_text="how many others use it")
    labels = serializers.DictField()
    created_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, volume):
        seen, others = self.context["users"].get(volume.pk, ([], 0))
        return {"id": volume.pk, "name": volume.name, "host": volume.host.name,
                "team": volume.team.name if volume.team_id else None,
                "stack": volume.project or None, "anonymous": volume.anonymous,
                "size": volume.size,
                "used_by": [{"id": c.engine_id, "name": c.name} for c in seen],
                "used_by_others": others, "labels": volume.labels,
                "created_at": api_time(volume.created)}


class VolumeRequestSerializer(serializers.Serializer):
    """The body of `POST /api/volumes/`."""
    name = serializers.CharField()
    host = serializers.CharField()
    team = serializers.CharField(required=False, help_text="your one team that may create "
                                                           "volumes, by default")


class VolumeViewSet(viewsets.GenericViewSet):
    serializer_class = VolumeSerializer

    def get_queryset(self):
        queryset = Volume.objects.restrict(self.request.user, "view").select_related(
            "host", "team")
        params = self.request.query_params
        for name, lookup in (("host", "host__name"), ("team", "team__name"),
                             ("stack", "project")):
            if params.get(name):
                queryset = queryset.filter(**{lookup: params[name]})
        return queryset

    def shown(self, volumes, many=False):
        listed = volumes if many else [volumes]
        return VolumeSerializer(volumes, many=many,
                                context={"users": users_of(self.request.user, listed)}).data

    def list(self, request):
        """Volumes you may see, across hosts; filter with ?host=, ?team=, ?stack=."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.shown(page, many=True))

    @extend_schema(responses=VolumeSerializer)
    def retrieve(self, request, pk=None):
        return Response(self.shown(visible_volume(request.user, pk)))

    @extend_schema(request=VolumeRequestSerializer, responses={202: JobSerializer},
                   parameters=[WAIT])
    def create(self, request):
        """Make a volume (`name`, `host`, `team`) on its host; returns the job."""
        req = actions.check_create(request.user, json_object(request.data), request=request)
        return job_response(request, actions.create(request.user, req, request=request))

    @extend_schema(responses={202: JobSerializer}, parameters=[WAIT])
    def destroy(self, request, pk=None):
        """Remove the volume and its files (409 while a container names it); returns the
        job."""
        volume = visible_volume(request.user, pk, verb="remove", request=request)
        return job_response(request, actions.remove(request.user, volume, request=request))

    @extend_schema(request=AssignSerializer, responses=VolumeSerializer)
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        """Give the volume to `team` (superusers)."""
        volume = visible_volume(request.user, pk, verb="assign", request=request)
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = Team.objects.filter(name=serializer.validated_data["team"]).first()
        if team is None:
            raise Invalid(fields={"team": ["No such team."]})
        actions.assign_team(request.user, volume, team, request=request)
        return Response(self.shown(volume))
