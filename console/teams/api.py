"""`/api/teams/`: teams, their members and roles, and the hosts granted to them."""
from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from console.core.errors import Invalid, NotFound
from console.core.permissions import require_manager, require_superuser
from console.core.roles import Role
from console.hosts.models import Host
from console.teams import actions
from console.teams.models import Membership, Team
from console.teams.reasons import REASON_ACTIONS


class TeamSerializer(serializers.ModelSerializer):
    hosts = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "description", "terminal_user", "reasons_required_for", "hosts",
                  "created_at"]
        read_only_fields = ["id", "hosts", "reasons_required_for", "created_at"]

    def get_hosts(self, obj) -> list[str]:
        return [grant.host.name for grant in obj.host_grants.select_related("host")]


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["user", "role", "created_at"]
        read_only_fields = ["created_at"]


class HostGrantSerializer(serializers.Serializer):
    host = serializers.CharField()


class TeamSettingsSerializer(serializers.ModelSerializer):
    reasons_required_for = serializers.ListField(
        child=serializers.ChoiceField(choices=list(REASON_ACTIONS)), required=False,
        help_text="the sensitive actions whose doers must give a reason")

    class Meta:
        model = Team
        fields = ["description", "terminal_user", "reasons_required_for"]


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """Teams you are in (all, for superusers)."""

    serializer_class = TeamSerializer

    def get_queryset(self):
        return Team.objects.restrict(self.request.user, "view")

    # What a change to a team the requester cannot see would have been, for its audit entry.
    CHANGES = {"partial_update": "team.settings", "members": "team.member.set",
               "remove_member": "team.member.remove", "hosts": "team.host.grant",
               "revoke_host": "team.host.revoke"}

    def get_object(self):
        """The team, if the requester may see it; an attempt to change a team they cannot see
        is a 404 like any unknown team, and is audited as denied."""
        try:
            return super().get_object()
        except Http404:
            if self.request.method not in SAFE_METHODS:
                actions.audit_hidden_team(self.CHANGES.get(self.action, f"team.{self.action}"),
                                          self.request.user, self.kwargs.get("pk", ""),
                                          request=self.request)
            raise

    def create(self, request):
        """Create a team (superusers)."""
        serializer = TeamSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = actions.create_team(request.user, request=request, name=data["name"],
                                   description=data.get("description", ""))
        if data.get("terminal_user"):
            actions.change_team_settings(request.user, team, request=request,
                                         terminal_user=data["terminal_user"])
        return Response(TeamSerializer(team).data, status=201)

    @extend_schema(request=TeamSettingsSerializer, responses=TeamSerializer)
    def partial_update(self, request, pk=None):
        """Change the team's `description`, `terminal_user` (the user terminals on its
        containers run as) or `reasons_required_for` (the sensitive actions that need a
        `reason`: remove, kill, commit-overwrite, terminal-root, stack-deploy, stack-remove)
        (team admins)."""
        team = self.get_object()
        require_manager(request.user, team, "team.settings", request=request, target=team)
        serializer = TeamSettingsSerializer(team, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        actions.change_team_settings(request.user, team, request=request,
                                     **serializer.validated_data)
        return Response(TeamSerializer(team).data)

    @extend_schema(methods=["GET"], responses=MemberSerializer(many=True))
    @extend_schema(methods=["POST"], request=MemberSerializer,
                   responses={201: MemberSerializer})
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """The team's members and roles; POST `user` and `role` to add one or change a role
        (team admins)."""
        team = self.get_object()
        if request.method == "POST":
            serializer = MemberSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            self._require_manager(team, "team.member.set")
            user = self._user(serializer.validated_data["user"]["username"])
            membership = actions.set_member(request.user, team, user,
                                            serializer.validated_data["role"], request=request)
            return Response(MemberSerializer(membership).data, status=201)
        members = team.memberships.select_related("user").order_by("user__username")
        page = self.paginate_queryset(members)
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @action(detail=True, methods=["delete"], url_path="members/(?P<username>[^/]+)")
    def remove_member(self, request, pk=None, username=None):
        """Remove a member from the team (team admins)."""
        team = self.get_object()
        self._require_manager(team, "team.member.remove")
        actions.remove_member(request.user, team, self._user(username), request=request)
        return Response(status=204)

    @action(detail=True, methods=["delete"], url_path="hosts/(?P<host>[^/]+)")
    def revoke_host(self, request, pk=None, host=None):
        """Take a host back from the team (superusers)."""
        team = self.get_object()
        require_superuser(request.user, "team.host.revoke", request=request, team=team,
                          target_type="host", target_name=host[:63])
        granted = Host.objects.filter(grants__team=team).filter(
            **({"pk": host} if host.isdigit() else {"name": host})).first()
        if granted is None:
            raise NotFound(f"Host {host} is not granted to team {team.name}.")
        actions.revoke_host(request.user, team, granted, request=request)
        return Response(status=204)

    @extend_schema(request=HostGrantSerializer, responses=TeamSerializer)
    @action(detail=True, methods=["post"])
    def hosts(self, request, pk=None):
        """Grant a host to the team (superusers)."""
        team = self.get_object()
        serializer = HostGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        value = serializer.validated_data["host"]
        if not request.user.is_superuser:
            actions.grant_host(request.user, team, None, request=request)
        lookup = {"pk": value} if value.isdigit() else {"name": value}
        host = Host.objects.filter(**lookup).first()
        if host is None:
            raise Invalid(fields={"host": [f"No such host: {value}."]})
        actions.grant_host(request.user, team, host, request=request)
        return Response(TeamSerializer(team).data, status=201)

    def _require_manager(self, team, action):
        """Refuse (audited) before a username is looked up, so that "no such user" tells only
        those who may manage the team which usernames exist."""
        require_manager(self.request.user, team, action, request=self.request)

    def _user(self, username):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise Invalid(fields={"user": [f"No such user: {username}."]})
        return user
