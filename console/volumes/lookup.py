"""Naming a volume: by its number (the API's `{id}`). One a user cannot see is "no such
volume" like one that does not exist; an attempt to act on either is audited alike, with only
the reference as typed."""
from console import audit
from console.core.errors import NotFound
from console.volumes.models import Volume


def visible_volume(user, ref, *, verb: str = "view", request=None) -> Volume:
    ref = str(ref).strip()
    volume = (Volume.objects.restrict(user, "view").select_related("host", "team")
              .filter(pk=int(ref)).first() if ref.isdigit() and len(ref) < 19 else None)
    if volume is None:
        if verb != "view":
            audit.record_unseen(f"volume.{verb}", actor=user, request=request,
                                target_type="volume", reference=ref)
        raise NotFound(f"No such volume: {ref}")
    return volume
