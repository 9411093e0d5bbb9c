"""`/api/users/`, `/api/tokens/`, `/api/auth/token/` and `/api/grants/`."""
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from console import audit
from console.accounts import actions
from console.accounts.login_limits import LoginLimiter
from console.accounts.models import ApiToken
from console.containers.lookup import NoSuchContainer, visible_container
from console.containers.models import ContainerGrant
from console.core.roles import GRANTABLE_ACTIONS
from console.teams.api import run_action


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    teams = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "is_superuser", "password", "teams"]
        read_only_fields = ["id", "teams"]

    def get_teams(self, obj) -> list[dict]:
        return [{"team": m.team.name, "role": m.role}
                for m in obj.memberships.select_related("team")]


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """Users: yourself and the members of your teams (all, for superusers)."""

    serializer_class = UserSerializer

    def get_queryset(self):
        user = self.request.user
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return users.none()
        if user.is_superuser:
            return users
        # Others see themselves and the members of their teams.
        from django.db.models import Q

        from console.teams.models import Membership

        teams = Membership.objects.filter(user=user).values("team_id")
        return users.filter(Q(pk=user.pk) | Q(
            pk__in=Membership.objects.filter(team_id__in=teams).values("user_id")))

    def create(self, request):
        """Create a user (superusers)."""
        serializer = UserSerializer(data=request.data)
        if not request.user.is_superuser:
            run_action(actions.create_user, request.user, username=request.data.get("username", ""),
                       password="", request=request)
        serializer.is_valid(raise_exception=True)
        user = run_action(actions.create_user, request.user, request=request,
                          **serializer.validated_data)
        return Response(UserSerializer(user).data, status=201)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used"]
        read_only_fields = ["id", "prefix", "created_at", "last_used"]


class TokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):
    """The user's own tokens. The key is in the answer to the POST, and nowhere ever after."""

    serializer_class = TokenSerializer

    def get_queryset(self):
        return ApiToken.objects.restrict(self.request.user, "view")

    def create(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = actions.create_token(request.user, serializer.validated_data.get("name", ""),
                                          request=request)
        return Response({**TokenSerializer(token).data, "token": key}, status=201)

    def destroy(self, request, pk=None):
        actions.revoke_token(request.user, self.get_object(), request=request)
        return Response(status=204)


@extend_schema(
    request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                               "password": serializers.CharField(),
                                               "name": serializers.CharField(required=False)}),
    responses=inline_serializer("TokenAnswer", {"token": serializers.CharField()}))
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def obtain_token(request):
    """Username and password in, a new API token out (shown this once)."""
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"detail": "Send a JSON object."})
    username = str(request.data.get("username", ""))
    password = str(request.data.get("password", ""))
    limiter = LoginLimiter(username, request)
    wait = limiter.retry_after()
    if wait:
        audit.record("auth.token", request=request, target_type="user", target_name=username,
                     result="denied", error="too many failed attempts")
        raise exceptions.Throttled(wait=wait, detail="Too many failed attempts from your "
                                                     "address for this username.")
    user = authenticate(request._request, username=username, password=password)
    if user is None:
        limiter.failed()
        audit.record("auth.token", request=request, target_type="user", target_name=username,
                     result="failed", error="wrong username or password")
        return Response({"detail": "Wrong username or password."}, status=401)
    limiter.succeeded()
    token, key = actions.create_token(user, str(request.data.get("name", "api"))[:100],
                                      request=request)
    return Response({"token": key, "id": token.pk}, status=201)


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
        try:
            container = visible_container(request.user, data["container"]["engine_id"],
                                          verb="grant", audit_refusal=True, request=request)
        except NoSuchContainer as error:
            raise exceptions.NotFound(str(error)) from None
        # Refused before the user is looked up: "no such user" would tell anyone who sees a
        # container which usernames exist.
        run_action(actions.require_manager, request.user, container.team, "container.grant",
                   request=request, target=container, host=container.host)
        user = get_user_model().objects.filter(username=data["user"]["username"],
                                               is_active=True).first()
        if user is None:
            raise exceptions.ValidationError({"user": ["No such user."]})
        grant = run_action(actions.grant_container, request.user, user, container,
                           data["actions"], request=request)
        return Response(GrantSerializer(grant).data, status=201)

    def destroy(self, request, pk=None):
        grant = self.get_object()
        try:
            actions.revoke_container_grant(request.user, grant, request=request)
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error))
        return Response(status=204)
