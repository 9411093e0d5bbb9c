"""The dashboard (mounted at the root), one host's pages, and the join tokens' page."""
from django.urls import path

from console.hosts import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("join-tokens/", views.join_tokens, name="join-tokens"),
    path("join-tokens/<int:pk>/revoke/", views.join_token_revoke, name="join-token-revoke"),
    path("hosts/<str:host>/", views.host_detail, name="host-detail"),
    path("hosts/<str:host>/cordon/", views.host_cordon, name="host-cordon"),
    path("hosts/<str:host>/uncordon/", views.host_uncordon, name="host-uncordon"),
    path("hosts/<str:host>/drain/", views.host_drain, name="host-drain"),
    path("hosts/<str:host>/remove/", views.host_remove, name="host-remove"),
]
