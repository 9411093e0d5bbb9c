"""What each container is attached to: `<root>/networks/endpoints/<container id>.json`.

A record is written before `attach` makes anything on the host, and deleted only after
`detach` has removed everything, so a crash at any point leaves a record that says what to
clean. Its fields:

    id, name, hostname, mode         from the NetworkRequest ("bridge", "none", "host",
                                     "container:<id>" or a user network's name)
    container_dir                    where the container's hosts and resolv.conf live
    netns                            the namespace file Moorage pins (bridge networks), or None
    publishing                       whether ports are to be published (DNAT rules may exist)
    publish_loopback                 whether ports published without an address also answer
                                     on 127.0.0.1 (absent in records of older releases: yes)
    share_host                       --network host
    peer                             for container:<id>, that container's id
    endpoints                        one per network, in attachment order (see `endpoint`);
                                     each with the `aliases` it is known by there (absent in
                                     records of older releases: none)
    ports                            published ports (PortSpec.to_json), host ports chosen
    exposed                          the image's and config's ExposedPorts keys
"""

import os

from runtime.atomic import read_json, write_json
from runtime.network.store import endpoints_dir
from runtime.paths import Paths


def _path(paths: Paths, container_id: str) -> str:
    return os.path.join(endpoints_dir(paths), f"{container_id}.json")


def load(paths: Paths, container_id: str) -> dict | None:
    return read_json(_path(paths, container_id))


def save(paths: Paths, record: dict):
    write_json(_path(paths, record["id"]), record)


def remove(paths: Paths, container_id: str):
    try:
        os.unlink(_path(paths, container_id))
    except FileNotFoundError:
        pass


def all_records(paths: Paths) -> dict[str, dict]:
    """{container id: record} of every attached container."""
    try:
        names = os.listdir(endpoints_dir(paths))
    except FileNotFoundError:
        return {}
    records = {}
    for name in names:
        if name.endswith(".json"):
            record = read_json(os.path.join(endpoints_dir(paths), name))
            if record:
                records[record["id"]] = record
    return records


def endpoint(record: dict, network_id: str) -> dict | None:
    for candidate in record["endpoints"]:
        if candidate["network_id"] == network_id:
            return candidate
    return None


def find(paths: Paths, reference: str) -> dict | None:
    """An attached container's record by full ID, name or unique ID prefix."""
    record = load(paths, reference) if len(reference) == 64 else None
    if record:
        return record
    records = all_records(paths).values()
    named = [record for record in records if record["name"] == reference]
    if named:
        return named[0]
    prefixed = [record for record in records if record["id"].startswith(reference)]
    return prefixed[0] if len(prefixed) == 1 and reference else None
