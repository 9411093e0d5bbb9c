"""`/api/images/`: images per host, as the hosts' engines report them."""
from rest_framework import mixins, serializers, viewsets

from console.images.models import Image


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

    def get_queryset(self):
        queryset = Image.objects.restrict(self.request.user, "view").select_related("host", "team")
        if self.request.query_params.get("host"):
            queryset = queryset.filter(host__name=self.request.query_params["host"])
        return queryset
