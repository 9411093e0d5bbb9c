"""Volume pages (mounted at /volumes/): the list (and making one), removing one, giving one
to a team."""
from django.urls import path

from console.volumes import views

urlpatterns = [
    path("", views.volume_list, name="volume-list"),
    path("<int:pk>/remove/", views.volume_remove, name="volume-remove"),
    path("<int:pk>/team/", views.volume_assign, name="volume-assign"),
]
