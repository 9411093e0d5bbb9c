"""Commit history pages (mounted at /commits/)."""
from django.urls import path

from console.commits import views

urlpatterns = [
    path("", views.commit_history, name="commit-history"),
    path("<str:ref>/", views.commit_detail, name="commit-detail"),
    path("<str:ref>/tag/", views.commit_tag, name="commit-tag"),
]
