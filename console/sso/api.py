"""`/api/sso-mappings/`: directory groups → team roles. Superusers list, add and remove them;
a team's admins see those that give roles in their team."""
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from console.core.permissions import require_superuser
from console.sso import actions
from console.sso.models import GroupMapping
from console.teams.models import Team


class GroupMappingSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GroupMapping
        fields = ["id", "source", "group", "team", "role", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class GroupMappingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, mixins.DestroyModelMixin,
                          viewsets.GenericViewSet):
    """Directory groups and the team role each gives at every single sign-on login
    (`source`: `oidc`, a value of the groups claim; `ldap`, a group's name or DN)."""

    serializer_class = GroupMappingSerializer

    def get_queryset(self):
        return (GroupMapping.objects.restrict(self.request.user, "view")
                .select_related("team", "created_by"))

    def create(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        require_superuser(request.user, "sso.mapping.create", request=request,
                          target_type="groupmapping", target_name=str(data.get("group", ""))[:200])
        serializer = GroupMappingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = actions.create_mapping(request.user, request=request,
                                         **{name: serializer.validated_data[name]
                                            for name in ("source", "group", "team", "role")})
        return Response(GroupMappingSerializer(mapping).data, status=201)

    def destroy(self, request, pk=None):
        actions.delete_mapping(request.user, self.get_object(), request=request)
        return Response(status=204)
