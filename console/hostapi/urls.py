"""The host API, mounted at /api/agent/ (see `views`)."""
from django.urls import path, re_path

from console.hostapi import views

urlpatterns = [
    path("join/", views.Join.as_view(), name="agent-join"),
    path("hello/", views.Hello.as_view(), name="agent-hello"),
    path("heartbeat/", views.Heartbeat.as_view(), name="agent-heartbeat"),
    path("key/", views.KeyCheck.as_view(), name="agent-key"),
    path("leave/", views.Leave.as_view(), name="agent-leave"),
    path("jobs/<int:job_id>/claim/", views.Claim.as_view(), name="agent-job-claim"),
    path("jobs/<int:job_id>/output/", views.Output.as_view(), name="agent-job-output"),
    path("jobs/<int:job_id>/finish/", views.Finish.as_view(), name="agent-job-finish"),
    path("jobs/<int:job_id>/context/", views.Context.as_view(), name="agent-job-context"),
    path("jobs/<int:job_id>/images/", views.UsableImages.as_view(), name="agent-job-images"),
    path("sync/", views.Sync.as_view(), name="agent-sync"),
    path("sync/inspected/", views.SyncInspected.as_view(), name="agent-sync-inspected"),
    path("groups/readings/", views.GroupReadings.as_view(), name="agent-group-readings"),
    re_path(r"^.*$", views.NoSuchRoute.as_view(), name="agent-no-such-route"),
]
