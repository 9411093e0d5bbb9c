"""Single sign-on's pages: OpenID Connect's start and callback, the group → team mapping
(mounted at the root)."""
from django.urls import path

from console.sso import oidc, views

urlpatterns = [
    path("oidc/authenticate/", oidc.StartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("sso/mappings/", views.mapping_list, name="sso-mappings"),
    path("sso/mappings/<int:pk>/delete/", views.mapping_delete, name="sso-mapping-delete"),
]
