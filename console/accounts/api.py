"""`/api/users/`, `/api/tokens/` and `/api/auth/token/`."""
from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from console.accounts import actions
from console.accounts.models import ApiToken
from console.accounts.two_factor import CodeRefused
from console.core.api import json_object


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
            actions.create_user(request.user, username=request.data.get("username", ""),
                                password="", request=request)
        serializer.is_valid(raise_exception=True)
        user = actions.create_user(request.user, request=request, **serializer.validated_data)
        return Response(UserSerializer(user).data, status=201)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used"]
        read_only_fields = ["id", "prefix", "created_at", "last_used"]


class TokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):
    """The user's own tokens. The key is in the answer to the POST, and nowhere ever after.
    A user with a second factor gives a code (`otp`) to make one, unless their browser session
    passed it within the last minutes; a request made with a token is never that."""

    serializer_class = TokenSerializer

    def get_queryset(self):
        return ApiToken.objects.restrict(self.request.user, "view")

    def create(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = str(request.data.get("otp", ""))   # a JSON object: the serializer checked
        token, key = actions.create_token(request.user, serializer.validated_data.get("name", ""),
                                          request=request, code=code)
        return Response({**TokenSerializer(token).data, "token": key}, status=201)

    def destroy(self, request, pk=None):
        actions.revoke_token(request.user, self.get_object(), request=request)
        return Response(status=204)


@extend_schema(
    request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                               "password": serializers.CharField(),
                                               "otp": serializers.CharField(required=False),
                                               "name": serializers.CharField(required=False)}),
    responses=inline_serializer("TokenAnswer", {"token": serializers.CharField()}))
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def obtain_token(request):
    """Username and password in, a new API token out (shown this once). A user with a second
    factor gives its code too (`otp`: the authenticator's, or a recovery code); without it the
    answer is 401 with `"otp_required": true`."""
    data = json_object(request.data)
    username = str(data.get("username", ""))
    password = str(data.get("password", ""))
    attempt = actions.LoginAttempt("auth.token", username, request)
    wait = attempt.refused()
    if wait:
        raise exceptions.Throttled(wait=wait, detail="Too many failed attempts from your "
                                                     "address for this username.")
    user = authenticate(request._request, username=username, password=password)
    if user is None:
        attempt.failed()
        return Response({"detail": "Wrong username or password."}, status=401)
    try:
        token, key = actions.create_token(user, str(data.get("name", "api"))[:100],
                                          request=request, code=str(data.get("otp", "")))
    except CodeRefused as refusal:
        if refusal.retry_after:
            raise exceptions.Throttled(wait=refusal.retry_after,
                                      detail=refusal.message) from None
        return Response({"detail": refusal.message, "otp_required": True}, status=401)
    # Only now: a right password must not clear the count of wrong codes.
    attempt.succeeded()
    return Response({"token": key, "id": token.pk}, status=201)

