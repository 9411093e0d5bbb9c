"""The URL map: each app's pages (its own `urls.py`), the REST API under /api/ (one router over
the apps' viewsets), the OpenAPI schema and the admin."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from console.accounts import api as accounts_api
from console.audit.api import AuditViewSet
from console.commits.api import CommitViewSet
from console.containers.api import ContainerViewSet
from console.core import views as core_views
from console.grants import urls as grants_urls
from console.grants.api import AccessRequestViewSet, GrantViewSet, StackGrantViewSet
from console.hosts.api import HostViewSet, JoinTokenDetailView, JoinTokenView
from console.images.api import ImageViewSet
from console.jobs.api import JobViewSet
from console.quotas.api import QuotaViewSet
from console.schedules import urls as schedules_urls
from console.schedules.api import ScheduleViewSet
from console.sso.api import GroupMappingViewSet
from console.stacks.api import StackViewSet
from console.streams.urls import api_urlpatterns as stream_api_patterns
from console.teams.api import TeamViewSet
from console.volumes.api import VolumeViewSet

router = DefaultRouter()
# No ".json" suffix routes: one URL per resource, and none that a view was not written for.
router.include_format_suffixes = False
router.register("containers", ContainerViewSet, basename="container")
router.register("images", ImageViewSet, basename="image")
router.register("hosts", HostViewSet, basename="host")
router.register("jobs", JobViewSet, basename="job")
router.register("teams", TeamViewSet, basename="team")
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("grants", GrantViewSet, basename="grant")
router.register("access-requests", AccessRequestViewSet, basename="access-request")
router.register("tokens", accounts_api.TokenViewSet, basename="token")
router.register("audit", AuditViewSet, basename="audit")
router.register("commits", CommitViewSet, basename="commit")
router.register(r"stacks/(?P<stack_pk>[0-9]{1,18})/grants", StackGrantViewSet,
                basename="stack-grant")
router.register("stacks", StackViewSet, basename="stack")
router.register("volumes", VolumeViewSet, basename="volume")
router.register("quotas", QuotaViewSet, basename="quota")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("sso-mappings", GroupMappingViewSet, basename="sso-mapping")

api_patterns = [
    path("auth/token/", accounts_api.obtain_token, name="token"),
    # The host API: for hosts' keys only (console/hostapi/).
    path("agent/", include("console.hostapi.urls")),
    path("hosts/join-tokens/", JoinTokenView.as_view(), name="host-join-token"),
    path("hosts/join-tokens/<int:pk>/", JoinTokenDetailView.as_view(),
         name="host-join-token-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *stream_api_patterns,
    path("", include(router.urls)),
]

urlpatterns = [
    path("", include("console.hosts.urls")),
    path("", include("console.accounts.urls")),
    path("", include("console.sso.urls")),
    # A container's grants, requests and schedules first: `<ref>/grants/` would otherwise
    # name an action "grants".
    path("containers/", include("console.grants.urls")),
    path("containers/", include(schedules_urls.container_urlpatterns)),
    path("containers/", include("console.containers.urls")),
    path("requests/", include(grants_urls.requests_urlpatterns)),
    path("schedules/", include("console.schedules.urls")),
    path("images/", include("console.images.urls")),
    # Before the stack's `<pk>/<verb>/`, which would take `<pk>/schedules/`.
    path("stacks/", include(schedules_urls.stack_urlpatterns)),
    path("stacks/", include(grants_urls.stack_urlpatterns)),
    path("stacks/", include("console.stacks.urls")),
    path("volumes/", include("console.volumes.urls")),
    path("jobs/", include("console.jobs.urls")),
    path("commits/", include("console.commits.urls")),
    path("teams/", include("console.quotas.urls")),
    path("teams/", include("console.teams.urls")),
    path("audit/", include("console.audit.urls")),
    path("terminal-sessions/", include("console.streams.urls")),
    path("api/docs/", core_views.api_docs, name="api-docs"),
    path("api/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]
