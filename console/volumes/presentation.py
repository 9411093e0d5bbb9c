"""A volume as users see it: who uses it, among the containers they may see (the others only
counted), and the stack that made it."""
from console.containers.models import Container


def users_of(user, volumes) -> dict[int, tuple[list, int]]:
    """Per volume: (the containers using it that `user` may see, how many others do)."""
    ids = {engine_id for volume in volumes for engine_id in volume.used_by or []}
    visible = {row.engine_id: row for row in Container.objects.restrict(user, "view")
               .filter(engine_id__in=ids).only("engine_id", "name")} if ids else {}
    found = {}
    for volume in volumes:
        seen = [visible[engine_id] for engine_id in volume.used_by or [] if engine_id in visible]
        found[volume.pk] = (seen, len(volume.used_by or []) - len(seen))
    return found
