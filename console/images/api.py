"""`/api/images/`: images per host, as the hosts' engines report them. One image is named by
its number in the list, or by its ID, a unique ID prefix or `name[:tag]` (with `?host=` when the
name is on several hosts); `POST /api/images/{id}/tag/` tags it (a job on its host)."""
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action

from console import audit
from console.images import actions
from console.images.commit_api import TagSerializer, tag_response
from console.images.models import Image
from console.jobs.api import JobSerializer


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


class ImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Images per host (?host=), as the engines report them."""

    serializer_class = ImageSerializer
    lookup_value_regex = "[^/]+"

    def get_object(self):
        ref = self.kwargs["pk"].strip()
        matches = named(self.get_queryset(), ref)
        if not matches:
            if self.action == "tag":
                # Someone acting on an image they cannot see: record the attempt.
                hidden = named(Image.objects.select_related("host", "team"), ref)
                if hidden:
                    audit.record("image.tag", request=self.request, team=hidden[0].team,
                                 host=hidden[0].host, target=hidden[0], result="denied",
                                 error="not visible to the requester")
            raise exceptions.NotFound(f"No such image: {ref}")
        if len(matches) > 1:
            raise exceptions.NotFound(f"{ref} names several images: give more of the ID, or "
                                      "?host=.")
        return matches[0]

    @extend_schema(request=TagSerializer, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def tag(self, request, pk=None):
        """Tag the image (`repository`, `tag`) on its host; returns the job."""
        return tag_response(request, actions.tag_image, self.get_object())

    def get_queryset(self):
        queryset = Image.objects.restrict(self.request.user, "view").select_related("host", "team")
        if self.request.query_params.get("host"):
            queryset = queryset.filter(host__name=self.request.query_params["host"])
        return queryset


def named(images, ref: str) -> list:
    """The images of `images` that `ref` names: a number (the row's), an ID, an ID prefix or
    a `name[:tag]`."""
    if ref.isdigit():
        by_pk = list(images.filter(pk=int(ref)))
        if by_pk:
            return by_pk
    return [image for image in images if image.matches(ref)]
