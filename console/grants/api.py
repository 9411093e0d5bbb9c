"""`/api/grants/`: per-user, per-container grants of actions. A team admin of the container's
team grants and revokes them (`console.grants.actions`, as the container page does); a user
sees the grants they hold."""
from django.contrib.auth import get_user_model
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from console.containers.lookup import visible_container
from console.core.errors import Invalid
from console.core.permissions import require_manager
from console.core.roles import GRANTABLE_ACTIONS
from console.grants import actions
from console.grants.models import ContainerGrant


class GrantSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    container = serializers.CharField(source="container.engine_id")
    actions = serializers.ListField(child=serializers.ChoiceField(choices=GRANTABLE_ACTIONS))

    class Meta:
        model = ContainerGrant
        fields = ["id", "user", "container", "actions", "created_at"]
        read_only_fields = ["id", "created_at"]


class GrantViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                   mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Per-user, per-container grants of actions (team admins of the container's team)."""

    serializer_class = GrantSerializer

    def get_queryset(self):
        return (ContainerGrant.objects.restrict(self.request.user, "view")
                .select_related("user", "container"))

    def create(self, request):
        serializer = GrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        container = visible_container(request.user, data["container"]["engine_id"],
                                      verb="grant", audit_refusal=True, request=request)
        # Refused before the user is looked up: "no such user" would tell anyone who sees a
        # container which usernames exist.
        require_manager(request.user, container.team, "container.grant", request=request,
                        target=container, host=container.host)
        user = get_user_model().objects.filter(username=data["user"]["username"],
                                               is_active=True).first()
        if user is None:
            raise Invalid(fields={"user": ["No such user."]})
        grant = actions.grant_container(request.user, user, container, data["actions"],
                                        request=request)
        return Response(GrantSerializer(grant).data, status=201)

    def destroy(self, request, pk=None):
        actions.revoke_container_grant(request.user, self.get_object(), request=request)
        return Response(status=204)
