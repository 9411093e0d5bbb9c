"""The count of access requests waiting for the user's decision, for the navigation's badge
(a template context processor): team admins see those of their teams, superusers all."""
from console.grants.models import AccessRequest


def pending_requests(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"pending_requests": AccessRequest.objects.restrict(user, "manage").pending()
            .exclude(user=user).count()}
