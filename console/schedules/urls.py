"""The schedules page (mounted at /schedules/) and a container's schedule form
(`container_urlpatterns`, mounted at /containers/)."""
from django.urls import path

from console.schedules import views

urlpatterns = [
    path("", views.schedule_list, name="schedule-list"),
    path("<int:pk>/<str:verb>/", views.schedule_change, name="schedule-change"),
]

container_urlpatterns = [
    path("<str:ref>/schedules/", views.schedule_add, name="container-schedule"),
]
