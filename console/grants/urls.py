"""A container's grants, from its page (mounted at /containers/)."""
from django.urls import path

from console.grants import views

urlpatterns = [
    path("<str:ref>/grants/", views.grant_add, name="container-grant"),
    path("<str:ref>/grants/<int:grant_pk>/revoke/", views.grant_revoke,
         name="container-grant-revoke"),
]
