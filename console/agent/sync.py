"""The host's side of a sync: the engine's listing (containers, images, volumes) to the console
(`POST /api/agent/sync/`),
then the full `inspect` of the containers the console asks about (new ones, changed ones),
a batch at a time (`POST /api/agent/sync/inspected/`), and the team groups the console names
kept with their limits, their readings sent (`team_groups`). The console decides what the listing
means for its rows (console/hostapi/reconcile.py)."""
import json
import os
import time

from console.agent import team_groups
from console.agent.engine import engine_root
from runtime.errors import MoorError

BATCH_BYTES = 1 << 20        # well under the console's request size limit
# A volume's size is a walk of its files: measured at most this often (the console's
# MOORAGE_VOLUME_SIZE_SECONDS, read from the same environment variable).
VOLUME_SIZE_SECONDS = float(os.environ.get("MOORAGE_VOLUME_SIZE_SECONDS", 60))
_measured: dict[str, float] = {}     # volume name -> when this process last measured it


def sync_host(api, engine) -> dict:
    """Report the engine's containers and images; the counts the console answers."""
    answer = api.sync(engine_root(engine), engine.containers(all=True), engine.images(),
                      volumes(engine))
    added = updated = 0
    for batch in batches(engine, answer.get("inspect") or []):
        counts = api.sync_inspected(batch)
        added += counts.get("added", 0)
        updated += counts.get("updated", 0)
    groups = team_groups.sync(api, answer.get("groups") or [], engine)
    return {"containers": answer.get("containers", 0), "added": added, "updated": updated,
            "removed": answer.get("removed", 0), "images": answer.get("images", 0),
            "stacks": answer.get("stacks", 0), "volumes": answer.get("volumes", 0),
            "groups": groups}


def volumes(engine) -> list[dict]:
    """The engine's volumes with the containers naming each (`UsedBy`) and, for those not
    measured in the last VOLUME_SIZE_SECONDS, their size (`Size`)."""
    users = engine.volume_users()
    now, listed = time.monotonic(), []
    for volume in engine.volumes():
        name = volume["Name"]
        entry = {"Name": name, "Labels": volume.get("Labels") or {},
                 "CreatedAt": volume.get("CreatedAt"), "UsedBy": sorted(users.get(name, []))}
        if now - _measured.get(name, -VOLUME_SIZE_SECONDS) >= VOLUME_SIZE_SECONDS:
            entry["Size"] = engine.volume_size(name)
            _measured[name] = now
        listed.append(entry)
    for gone in set(_measured) - {entry["Name"] for entry in listed}:
        del _measured[gone]
    return listed


def batches(engine, engine_ids: list[str]):
    """The `inspect` of each container (those gone meanwhile left out), in batches of about
    BATCH_BYTES of JSON."""
    batch, size = [], 0
    for engine_id in engine_ids:
        try:
            data = engine.inspect(engine_id)
        except MoorError:
            continue            # gone again already
        batch.append(data)
        size += len(json.dumps(data))
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
