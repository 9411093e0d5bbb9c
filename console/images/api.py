"""`/api/images/`: images per host, as the hosts' engines report them. One image is named by
its number in the list, or by its ID, a unique ID prefix or `name[:tag]` (with `?host=` when the
name is on several hosts); `POST /api/images/{id}/tag/` tags it (a job on its host).

`POST /api/images/pull/` pulls an image from its registry onto a host, `POST /api/images/build/`
builds one from a Dockerfile (JSON, the context archive in base64; or multipart, the archive
as the file `context`). Both answer with the job (202; `?wait=1`: 200 once it is over), whose
`output` holds what the engine printed, and whose `error` says why it failed.
"""
import base64
import binascii

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from console.core import parsers
from console.core.api import json_object
from console.core.errors import TooLarge
from console.images import actions
from console.images.lookup import visible_image
from console.images.models import Image
from console.images.requests import MAX_DOCKERFILE_CHARS, too_large
from console.jobs.api import WAIT, JobDetailSerializer, JobSerializer, job_response


class ImageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="image_id", read_only=True)
    host = serializers.CharField(source="host.name", read_only=True)
    team = serializers.SerializerMethodField()
    parent = serializers.CharField(source="parent_id", read_only=True)

    class Meta:
        model = Image
        fields = ["id", "host", "tags", "parent", "size", "created", "team"]
        read_only_fields = fields

    def get_team(self, obj) -> str | None:
        return obj.team.name if obj.team_id else None


class PullSerializer(serializers.Serializer):
    """The body of `POST /api/images/pull/` (checked by `requests.validate_pull`)."""

    reference = serializers.CharField(help_text="e.g. registry.example:5000/team/app:1, or "
                                                "name@sha256:<digest>")
    host = serializers.CharField()
    team = serializers.CharField(required=False,
                                 help_text="the team the image belongs to (your one team "
                                           "by default)")


class BuildSerializer(serializers.Serializer):
    """The body of `POST /api/images/build/` (checked by `requests.validate_build`)."""

    host = serializers.CharField()
    team = serializers.CharField(required=False)
    dockerfile = serializers.CharField(help_text="the Dockerfile's text")
    tags = serializers.ListField(child=serializers.CharField(), required=False,
                                 help_text="name[:tag] references for the image")
    build_args = serializers.DictField(child=serializers.CharField(), required=False)
    no_cache = serializers.BooleanField(required=False)
    context = serializers.CharField(required=False,
                                    help_text="a tar archive (.tar, .tar.gz, .tar.bz2, .tar.xz) "
                                              "of the files COPY and ADD read: base64 in JSON, "
                                              "a file in multipart")


class TagSerializer(serializers.Serializer):
    repository = serializers.CharField()
    tag = serializers.CharField(required=False, allow_blank=True)


def tag_response(request, function, target):
    """Run a tag action (`actions.tag_image`, `actions.tag_commit`) for the API: the job."""
    data = json_object(request.data)
    job = function(request.user, target, str(data.get("repository") or ""),
                   str(data.get("tag") or ""), request=request)
    return job_response(request, job)


class ImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Images per host (?host=), as the engines report them."""

    serializer_class = ImageSerializer
    lookup_value_regex = "[^/]+"

    def get_object(self):
        return visible_image(self.request.user, self.kwargs["pk"], self.get_queryset(),
                             verb="tag" if self.action == "tag" else "view",
                             request=self.request)

    @extend_schema(request=TagSerializer, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def tag(self, request, pk=None):
        """Tag the image (`repository`, `tag`) on its host; returns the job."""
        return tag_response(request, actions.tag_image, self.get_object())

    @extend_schema(request=PullSerializer, responses={202: JobDetailSerializer},
                   parameters=[WAIT])
    @action(detail=False, methods=["post"])
    def pull(self, request):
        """Pull `reference` from its registry onto `host`, as an image of `team`; returns the
        job (its `output`: the progress lines)."""
        req = actions.check_pull(request.user, request_fields(request.data), request=request)
        return job_response(request, actions.pull(request.user, req, request=request),
                            JobDetailSerializer)

    @extend_schema(request={"application/json": BuildSerializer,
                            "multipart/form-data": BuildSerializer},
                   responses={202: JobDetailSerializer}, parameters=[WAIT])
    @action(detail=False, methods=["post"])
    def build(self, request):
        """Build `dockerfile` on `host`, as an image of `team`, tagged `tags`, with
        `build_args`, `no_cache`, and the files of `context` (a tar archive: base64 in JSON, a
        file in multipart); returns the job (its `output`: the build's output)."""
        body = build_body(request)
        fields = request_fields(body)
        context, problem = context_of(request, body)
        req = actions.check_build(request.user, fields, context, context_problem=problem,
                                  request=request)
        return job_response(request, actions.build(request.user, req, request=request),
                            JobDetailSerializer)

    def get_queryset(self):
        queryset = Image.objects.restrict(self.request.user, "view").select_related("host", "team")
        if self.request.query_params.get("host"):
            queryset = queryset.filter(host__name=self.request.query_params["host"])
        return queryset


def request_limit() -> int:
    """The largest build request read: the context in base64, and room for the rest."""
    return settings.BUILD_CONTEXT_MAX_BYTES * 4 // 3 + (2 << 20)


def build_body(request):
    """A build request's body, up to `request_limit()` (larger: 413). JSON is read here rather
    than by the parser, whose limit (DATA_UPLOAD_MAX_MEMORY_SIZE, for every other request)
    is far below a context's; multipart streams its file to disk, as Django does."""
    limit = request_limit()
    too_large = TooLarge(f"The request is larger than {limit} bytes: a build context may be at "
                         f"most {settings.BUILD_CONTEXT_MAX_BYTES >> 20} MiB.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise too_large
    if not (request.content_type or "").startswith("application/json"):
        return request.data
    raw = request.stream.read(limit + 1) if request.stream is not None else b""
    if len(raw) > limit:
        raise too_large
    return parsers.loads(raw or b"null")


def request_fields(data) -> dict:
    """The request's fields but the context archive: a JSON object, or a form's fields (a
    field sent several times is a list)."""
    if hasattr(data, "lists"):
        fields = {key: values[0] if len(values) == 1 else values
                  for key, values in data.lists() if key != "context"}
        if hasattr(fields.get("dockerfile"), "read"):     # sent as a file (curl -F f=@...)
            fields["dockerfile"] = fields["dockerfile"].read(MAX_DOCKERFILE_CHARS * 4 + 1) \
                .decode("utf-8", "replace")
        return fields
    return {key: value for key, value in json_object(data).items() if key != "context"}


def context_of(request, body) -> tuple[bytes | None, str]:
    """(the context archive's bytes, '') from the uploaded file `context` or base64 text in
    JSON; (None, '') without one; (None, what is wrong with it)."""
    upload = request.FILES.get("context") if hasattr(body, "lists") else None
    if upload is not None:
        if upload.size > settings.BUILD_CONTEXT_MAX_BYTES:
            return None, too_large(upload.size)
        return upload.read(), ""
    encoded = body.get("context")
    if encoded in (None, ""):
        return None, ""
    if not isinstance(encoded, str):
        return None, "The build context is a tar archive in base64."
    if len(encoded) > settings.BUILD_CONTEXT_MAX_BYTES * 4 // 3 + 4:
        return None, too_large(len(encoded) * 3 // 4)
    try:
        return base64.b64decode(encoded, validate=True), ""
    except (binascii.Error, ValueError):
        return None, "The build context is not valid base64."

