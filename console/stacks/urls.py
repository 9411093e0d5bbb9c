"""Stack pages (mounted at /stacks/): the list, a new stack, one stack, its editor, history,
buttons, removal, and giving it to a team."""
from django.urls import path

from console.stacks import views

urlpatterns = [
    path("", views.stack_list, name="stack-list"),
    path("new/", views.stack_new, name="stack-new"),
    path("<int:pk>/", views.stack_detail, name="stack-detail"),
    path("<int:pk>/edit/", views.stack_edit, name="stack-edit"),
    path("<int:pk>/history/", views.stack_history, name="stack-history"),
    path("<int:pk>/versions/<int:number>/deploy/", views.version_deploy,
         name="stack-version-deploy"),
    path("<int:pk>/remove/", views.stack_remove, name="stack-remove"),
    path("<int:pk>/team/", views.stack_assign, name="stack-assign"),
    path("<int:pk>/<str:verb>/", views.stack_action, name="stack-action"),
]
