"""The URL map: pages, the REST API under /api/, the OpenAPI schema and the admin."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from console.accounts import api as accounts_api
from console.accounts import views as accounts_views
from console.audit.api import AuditViewSet
from console.containers import views as container_views
from console.containers.api import ContainerViewSet
from console.core import views as core_views
from console.hosts import views as host_views
from console.hosts.api import HostViewSet
from console.images import commit_views
from console.images import views as image_views
from console.images.api import ImageViewSet
from console.images.commit_api import CommitViewSet
from console.jobs import views as job_views
from console.jobs.api import JobViewSet
from console.streams import views as stream_views
from console.teams import grant_views
from console.teams.api import TeamViewSet

router = DefaultRouter()
# No ".json" suffix routes: one URL per resource, and none that a view was not written for.
router.include_format_suffixes = False
router.register("containers", ContainerViewSet, basename="container")
router.register("images", ImageViewSet, basename="image")
router.register("hosts", HostViewSet, basename="host")
router.register("jobs", JobViewSet, basename="job")
router.register("teams", TeamViewSet, basename="team")
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("grants", accounts_api.GrantViewSet, basename="grant")
router.register("tokens", accounts_api.TokenViewSet, basename="token")
router.register("audit", AuditViewSet, basename="audit")
router.register("commits", CommitViewSet, basename="commit")

api_patterns = [
    path("auth/token/", accounts_api.obtain_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("containers/<str:ref>/logs/", stream_views.container_logs, name="container-logs"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", host_views.dashboard, name="dashboard"),
    path("login/", accounts_views.login_view, name="login"),
    path("logout/", accounts_views.logout_view, name="logout"),
    path("containers/", container_views.container_list, name="container-list"),
    path("containers/run/", container_views.run_container, name="container-run"),
    path("containers/bulk/", container_views.bulk_action, name="container-bulk"),
    path("containers/<str:ref>/", container_views.container_detail, name="container-detail"),
    path("containers/<str:ref>/commit/", commit_views.container_commit, name="container-commit"),
    path("containers/<str:ref>/team/", container_views.container_assign,
         name="container-assign"),
    path("containers/<str:ref>/grants/", grant_views.grant_add, name="container-grant"),
    path("containers/<str:ref>/grants/<int:grant_pk>/revoke/", grant_views.grant_revoke,
         name="container-grant-revoke"),
    path("containers/<str:ref>/<str:verb>/", container_views.container_action,
         name="container-action"),
    path("images/", image_views.image_list, name="image-list"),
    path("images/pull/", image_views.pull_image, name="image-pull"),
    path("images/build/", image_views.build_image, name="image-build"),
    path("jobs/", job_views.job_list, name="job-list"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job-detail"),
    path("commits/", include("console.images.urls")),
    path("teams/", include("console.teams.urls")),
    path("audit/", include("console.audit.urls")),
    path("account/tokens/", accounts_views.token_list, name="token-list"),
    path("account/tokens/<int:pk>/revoke/", accounts_views.token_revoke, name="token-revoke"),
    path("terminal-sessions/<str:session_id>/", stream_views.session_replay,
         name="terminal-replay"),
    path("terminal-sessions/<str:session_id>/recording/", stream_views.session_recording,
         name="terminal-recording"),
    path("api/docs/", core_views.api_docs, name="api-docs"),
    path("api/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]
