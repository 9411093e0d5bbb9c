"""The audit pages (mounted at /audit/)."""
from django.urls import path

from console.audit import views

urlpatterns = [
    path("", views.audit_list, name="audit-list"),
    path("<int:pk>/", views.audit_detail, name="audit-detail"),
    path("export/<str:kind>/", views.audit_export, name="audit-export"),
]
