"""Job pages (mounted at /jobs/)."""
from django.urls import path

from console.jobs import views

urlpatterns = [
    path("", views.job_list, name="job-list"),
    path("<int:pk>/", views.job_detail, name="job-detail"),
]
