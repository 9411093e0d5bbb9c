"""`/api/commits/`: the commit history, newest first, and one commit with its file changes;
`POST /api/commits/{id}/tag/` tags the image a commit made. A commit is named by its number, its
image's ID or a unique prefix of it, or `repository[:tag]`."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from console.audit.redact import redact_change
from console.commits.lookup import visible_commit
from console.images import actions
from console.images.api import TagSerializer, tag_response
from console.images.models import Commit
from console.jobs.api import JobSerializer


class FileChangeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["A", "C", "D"])
    path = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)


class CommitSerializer(serializers.ModelSerializer):
    image = serializers.CharField(source="new_image_id")
    parent = serializers.CharField(source="parent_image_id")
    host = serializers.CharField(source="host.name")
    team = serializers.SerializerMethodField()
    author = serializers.CharField(source="author_name")
    author_username = serializers.SerializerMethodField()
    container = serializers.CharField(source="container_engine_id")
    changes = serializers.SerializerMethodField()
    files_changed = serializers.SerializerMethodField()
    job = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Commit
        fields = ["id", "short_id", "image", "parent", "host", "team", "author",
                  "author_username", "container", "container_name", "repository", "tag",
                  "reference", "message", "changes", "layer_size", "files_changed", "job",
                  "created_at"]
        read_only_fields = fields

    def get_team(self, obj) -> str | None:
        return obj.team.name if obj.team_id else None

    def get_author_username(self, obj) -> str | None:
        return obj.author.username if obj.author_id else None

    def get_changes(self, obj) -> list[str]:
        return [redact_change(change) for change in obj.changes]

    def get_files_changed(self, obj) -> int:
        return len(obj.file_changes)


class CommitDetailSerializer(CommitSerializer):
    file_changes = FileChangeSerializer(many=True, read_only=True)

    class Meta(CommitSerializer.Meta):
        fields = CommitSerializer.Meta.fields + ["file_changes"]
        read_only_fields = fields


COMMIT_FILTERS = [OpenApiParameter(name, str, description=text) for name, text in (
    ("team", "a team's name"), ("host", "a host's name"), ("author", "the author's username"),
    ("image", "commits whose image ID starts with this"))]


class CommitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Commits you may see, newest first: who committed which container into which image, from
    which parent, with which changes; one commit adds its file changes (A/C/D, sizes)."""

    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        return CommitDetailSerializer if self.action == "retrieve" else CommitSerializer

    def get_queryset(self):
        commits = (Commit.objects.restrict(self.request.user, "view")
                   .select_related("host", "team", "author"))
        params = self.request.query_params
        if params.get("team"):
            commits = commits.filter(team__name=params["team"])
        if params.get("host"):
            commits = commits.filter(host__name=params["host"])
        if params.get("author"):
            commits = commits.filter(author__username=params["author"])
        if params.get("image"):
            prefix = params["image"].strip().lower().removeprefix("sha256:")
            commits = commits.filter(new_image_id__startswith="sha256:" + prefix)
        return commits

    def get_object(self):
        return visible_commit(self.request.user, self.kwargs["pk"],
                              verb="tag" if self.action == "tag" else "view",
                              request=self.request)

    @extend_schema(parameters=COMMIT_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TagSerializer, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def tag(self, request, pk=None):
        """Tag the image this commit made (`repository`, `tag`); returns the job."""
        return tag_response(request, actions.tag_commit, self.get_object())
