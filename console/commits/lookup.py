"""Naming a commit: the one a reference (its number, its image's ID or a unique prefix of it,
or `repository[:tag]`) names among those a user may see; one they cannot see is "no such
commit" whichever way it is named, and an attempt to act on it is audited as one on nothing
(`audit.record_unseen`)."""
from console import audit
from console.core.errors import NotFound
from console.images.models import Commit


def visible_commit(user, ref: str, *, verb: str = "view", request=None) -> Commit:
    matches = list(Commit.objects.restrict(user, "view")
                   .select_related("host", "team", "author", "job").resolve(ref)[:2])
    if len(matches) != 1:
        if verb != "view" and not matches:
            audit.record_unseen(f"image.{verb}", actor=user, request=request,
                                target_type="commit", reference=ref)
        raise NotFound("No such commit.")
    return matches[0]
