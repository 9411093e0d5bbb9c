"""`/api/grants/`: per-user, per-container grants of actions, for good or until a time. A team
admin of the container's team grants and revokes them (`console.grants.actions`, as the
container page does); a user sees the grants they hold.

`/api/stacks/{id}/grants/`: the same for one stack, with a stack's verbs (view, start, stop,
restart, deploy); the team admins of its team list, grant and revoke them, a user sees the
grants they hold there.

`/api/access-requests/`: a user asks for actions on a container they see, for a while, with a
reason; a team admin of its team approves (a grant that ends after the duration) or refuses."""
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from console.containers.lookup import visible_container
from console.core.api import json_object
from console.core.errors import Invalid
from console.core.permissions import require_manager
from console.core.roles import GRANTABLE_ACTIONS
from console.grants import actions
from console.grants.models import STACK_GRANTABLE, AccessRequest, ContainerGrant, StackGrant
from console.stacks.lookup import visible_stack


class GrantFields(serializers.ModelSerializer):
    """What a container grant and a stack grant both say: to whom, and until when."""
    user = serializers.CharField(source="user.username")
    expires_at = serializers.DateTimeField(required=False, allow_null=True,
                                           help_text="when the grant ends (none: never)")
    duration = serializers.IntegerField(required=False, write_only=True,
                                        help_text="or: seconds from now until it ends")


def grantee(data):
    """The active user named in a grant's `user` (Invalid otherwise); looked up only once the
    actor is known to manage the team, so that no one else learns which usernames exist."""
    user = get_user_model().objects.filter(username=data["user"]["username"],
                                           is_active=True).first()
    if user is None:
        raise Invalid(fields={"user": ["No such user."]})
    return user


class GrantSerializer(GrantFields):
    container = serializers.CharField(source="container.engine_id")
    actions = serializers.ListField(child=serializers.ChoiceField(choices=GRANTABLE_ACTIONS))

    class Meta:
        model = ContainerGrant
        fields = ["id", "user", "container", "actions", "expires_at", "duration", "created_at"]
        read_only_fields = ["id", "created_at"]


class GrantViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                   mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Per-user, per-container grants of actions (team admins of the container's team).
    Granting again without an end replaces the user's lasting grant on the container; a grant
    with `expires_at` (or `duration`) is one of its own, taken away when it ends."""

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
        grant = actions.grant_container(
            request.user, grantee(data), container, data["actions"], request=request,
            expires_at=actions.end_time(expires_at=data.get("expires_at"),
                                        duration=data.get("duration")))
        return Response(GrantSerializer(grant).data, status=201)

    def destroy(self, request, pk=None):
        actions.revoke_grant(request.user, self.get_object(), request=request)
        return Response(status=204)


class StackGrantSerializer(GrantFields):
    stack = serializers.IntegerField(source="stack_id", read_only=True)
    actions = serializers.ListField(child=serializers.ChoiceField(choices=STACK_GRANTABLE))

    class Meta:
        model = StackGrant
        fields = ["id", "user", "stack", "actions", "expires_at", "duration", "created_at"]
        read_only_fields = ["id", "stack", "created_at"]


class StackGrantViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                        mixins.DestroyModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Per-user grants of a stack's verbs on one stack (team admins of the stack's team; a
    user sees the grants they hold). Any grant lets its holder see the stack, and only it.
    Granting again without an end replaces the user's lasting grant on the stack; a grant with
    `expires_at` (or `duration`) is one of its own, taken away when it ends."""

    serializer_class = StackGrantSerializer

    def stack(self, verb="view"):
        return visible_stack(self.request.user, self.kwargs["stack_pk"], verb=verb,
                             request=self.request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StackGrant.objects.none()
        return (StackGrant.objects.restrict(self.request.user, "view")
                .filter(stack=self.stack()).select_related("user", "stack"))

    def create(self, request, stack_pk=None):
        # The stack first: one the user does not see is a 404 whatever the body says.
        stack = self.stack("grant")
        require_manager(request.user, stack.team, "stack.grant", request=request,
                        target=stack, host=stack.host)
        serializer = StackGrantSerializer(data=json_object(request.data))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grant = actions.grant_stack(
            request.user, grantee(data), stack, data["actions"], request=request,
            expires_at=actions.end_time(expires_at=data.get("expires_at"),
                                        duration=data.get("duration")))
        return Response(StackGrantSerializer(grant).data, status=201)

    def destroy(self, request, stack_pk=None, pk=None):
        self.stack("revoke")
        actions.revoke_grant(request.user, self.get_object(), request=request)
        return Response(status=204)


class AccessRequestSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    container = serializers.CharField(source="container.engine_id")
    container_name = serializers.CharField(source="container.name", read_only=True)
    team = serializers.SerializerMethodField()
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=actions.REQUESTABLE_ACTIONS))
    duration = serializers.IntegerField(help_text="seconds the grant lasts once approved")
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = ["id", "user", "container", "container_name", "team", "actions", "duration",
                  "reason", "state", "created_at", "decided_by", "decided_at", "note",
                  "expires_at"]
        read_only_fields = ["id", "user", "container_name", "team", "state", "created_at",
                            "decided_by", "decided_at", "note", "expires_at"]

    def get_team(self, obj) -> str | None:
        return obj.container.team.name if obj.container.team_id else None

    def get_decided_by(self, obj) -> str | None:
        return obj.decided_by.username if obj.decided_by_id else None


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True,
                                 help_text="what the requester is told")


class AccessRequestViewSet(mixins.ListModelMixin, mixins.CreateModelMixin,
                           mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your requests for access, and those you decide as a team admin (`?state=pending`)."""

    serializer_class = AccessRequestSerializer

    def get_queryset(self):
        queryset = (AccessRequest.objects.restrict(self.request.user, "view")
                    .select_related("user", "container__team", "decided_by"))
        if self.request.query_params.get("state"):
            queryset = queryset.filter(state__in=self.request.query_params["state"].split(","))
        return queryset

    def create(self, request):
        """Ask for `actions` on `container` (one you see) for `duration` seconds, saying why."""
        serializer = AccessRequestSerializer(data=json_object(request.data))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        container = visible_container(request.user, data["container"]["engine_id"],
                                      verb="request", audit_refusal=True, request=request)
        asked = actions.request_access(request.user, container, data["actions"],
                                       duration=data["duration"], reason=data.get("reason"),
                                       request=request)
        return Response(AccessRequestSerializer(asked).data, status=201)

    def _decide(self, request, approve: bool):
        asked = self.get_object()
        serializer = DecisionSerializer(data=json_object(request.data or {}))
        serializer.is_valid(raise_exception=True)
        decided = actions.decide(request.user, asked, approve=approve,
                                 note=serializer.validated_data.get("note", ""), request=request)
        return Response(AccessRequestSerializer(decided).data)

    @extend_schema(request=DecisionSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a pending request (team admins): a grant of the actions asked, ending
        `duration` seconds from now."""
        return self._decide(request, True)

    @extend_schema(request=DecisionSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        """Refuse a pending request (team admins): nothing is granted."""
        return self._decide(request, False)
