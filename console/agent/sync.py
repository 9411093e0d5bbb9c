"""The host's side of a sync: the engine's listing to the console (`POST /api/agent/sync/`),
then the full `inspect` of the containers the console asks about (new ones, changed ones),
a batch at a time (`POST /api/agent/sync/inspected/`). The console decides what the listing
means for its rows (console/hostapi/reconcile.py)."""
import json

from runtime.errors import MoorError

from console.agent.engine import engine_root

BATCH_BYTES = 1 << 20        # well under the console's request size limit


def sync_host(api, engine) -> dict:
    """Report the engine's containers and images; the counts the console answers."""
    answer = api.sync(engine_root(engine), engine.containers(all=True), engine.images())
    added = updated = 0
    for batch in batches(engine, answer.get("inspect") or []):
        counts = api.sync_inspected(batch)
        added += counts.get("added", 0)
        updated += counts.get("updated", 0)
    return {"containers": answer.get("containers", 0), "added": added, "updated": updated,
            "removed": answer.get("removed", 0), "images": answer.get("images", 0)}


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
