"""The schedules page (mounted at /schedules/), a container's schedule form
(`container_urlpatterns`, mounted at /containers/) and a stack's (`stack_urlpatterns`, mounted
at /stacks/)."""
from django.urls import path

from console.schedules import views

urlpatterns = [
    path("", views.schedule_list, name="schedule-list"),
    path("<int:pk>/<str:verb>/", views.schedule_change, name="schedule-change"),
]

container_urlpatterns = [
    path("<str:ref>/schedules/", views.schedule_add, name="container-schedule"),
]

stack_urlpatterns = [
    path("<int:pk>/schedules/", views.stack_schedule_add, name="stack-schedule"),
]
