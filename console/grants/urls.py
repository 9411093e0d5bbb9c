"""A container's grants and requests, from its page (mounted at /containers/), a stack's
grants from its page (`stack_urlpatterns`, mounted at /stacks/), and the requests page
(`requests_urlpatterns`, mounted at /requests/)."""
from django.urls import path

from console.grants import views

urlpatterns = [
    path("<str:ref>/grants/", views.grant_add, name="container-grant"),
    path("<str:ref>/grants/<int:grant_pk>/revoke/", views.grant_revoke,
         name="container-grant-revoke"),
    path("<str:ref>/requests/", views.request_add, name="container-request"),
]

requests_urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("<int:pk>/<str:decision>/", views.request_decide, name="request-decide"),
]

stack_urlpatterns = [
    path("<int:pk>/grants/", views.stack_grant_add, name="stack-grant"),
    path("<int:pk>/grants/<int:grant_pk>/revoke/", views.stack_grant_revoke,
         name="stack-grant-revoke"),
]
