"""Image pages (mounted at /images/): each host's images, pulling and building."""
from django.urls import path

from console.images import views

urlpatterns = [
    path("", views.image_list, name="image-list"),
    path("pull/", views.pull_image, name="image-pull"),
    path("build/", views.build_image, name="image-build"),
]
