"""The dashboard: hosts with their state and counts (mounted at the root)."""
from django.urls import path

from console.hosts import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
