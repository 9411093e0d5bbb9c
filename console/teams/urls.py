"""Team pages (mounted at /teams/)."""
from django.urls import path

from console.teams import views

urlpatterns = [
    path("", views.team_list, name="team-list"),
    path("new/", views.team_create, name="team-create"),
    path("<int:pk>/", views.team_detail, name="team-detail"),
    path("<int:pk>/members/", views.member_add, name="team-member-add"),
    path("<int:pk>/members/new/", views.member_invite, name="team-member-invite"),
    path("<int:pk>/members/<str:username>/role/", views.member_role, name="team-member-role"),
    path("<int:pk>/members/<str:username>/remove/", views.member_remove,
         name="team-member-remove"),
    path("<int:pk>/hosts/", views.host_grant, name="team-host-grant"),
    path("<int:pk>/hosts/<int:host_pk>/revoke/", views.host_revoke, name="team-host-revoke"),
    path("<int:pk>/settings/", views.team_settings, name="team-settings"),
]
