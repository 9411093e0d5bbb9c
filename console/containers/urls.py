"""Container pages (mounted at /containers/): the list, the run form, bulk actions, one
container's page and its buttons, the commit dialog, giving it to a team. Its grants have
routes of their own (`console.grants.urls`), mounted before these."""
from django.urls import path

from console.containers import views

urlpatterns = [
    path("", views.container_list, name="container-list"),
    path("run/", views.run_container, name="container-run"),
    path("bulk/", views.bulk_action, name="container-bulk"),
    path("<str:ref>/", views.container_detail, name="container-detail"),
    path("<str:ref>/commit/", views.container_commit, name="container-commit"),
    path("<str:ref>/team/", views.container_assign, name="container-assign"),
    path("<str:ref>/<str:verb>/", views.container_action, name="container-action"),
]
