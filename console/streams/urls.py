"""Recorded terminal sessions (mounted at /terminal-sessions/); the log as text is an API
route (`api_urlpatterns`, mounted at /api/)."""
from django.urls import path

from console.streams import views

urlpatterns = [
    path("<str:session_id>/", views.session_replay, name="terminal-replay"),
    path("<str:session_id>/recording/", views.session_recording, name="terminal-recording"),
]

api_urlpatterns = [
    path("containers/<str:ref>/logs/", views.container_logs, name="container-logs"),
]
