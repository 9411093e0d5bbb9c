"""Commit history pages (mounted at /commits/)."""
from django.urls import path

from console.images import commit_views

urlpatterns = [
    path("", commit_views.commit_history, name="commit-history"),
    path("<str:ref>/", commit_views.commit_detail, name="commit-detail"),
    path("<str:ref>/tag/", commit_views.commit_tag, name="commit-tag"),
]
