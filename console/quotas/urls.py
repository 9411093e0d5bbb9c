"""A team's usage page and quota forms (mounted at /teams/)."""
from django.urls import path

from console.quotas import views

urlpatterns = [
    path("<int:pk>/usage/", views.team_usage, name="team-usage"),
    path("<int:pk>/quotas/", views.quota_set, name="team-quota-set"),
    path("<int:pk>/quotas/<int:host_pk>/remove/", views.quota_remove, name="team-quota-remove"),
]
