"""How `moor system df` prints `Engine.system_df()`: Docker's summary table (TYPE, TOTAL,
ACTIVE, SIZE, RECLAIMABLE) and its `-v` sections, with Docker's decimal sizes."""

import json
import time

from runtime.cli.output import short_id

RUNNING = ("running", "paused", "restarting")


def human_size(size: float) -> str:
    """Docker's units.HumanSize: decimal units, four significant digits (`16.43MB`, `212B`)."""
    from runtime.cli.rows import human_size as go_human_size
    return go_human_size(size, 4)


def summary_rows(usage: dict) -> list[dict]:
    """One row per kind (`Type`, `TotalCount`, `Active`, `Size`, `Reclaimable`, sizes in
    bytes, for `runtime.cli.rows.DiskUsageRow`), with Docker's reckoning of what is
    reclaimable: images' size less the unique size of those a container uses; stopped
    containers' writable layers; volumes no container names; build cache nothing uses."""
    images, containers = usage["Images"], usage["Containers"]
    volumes, cache = usage["Volumes"], usage["BuildCache"]
    total_images = usage["LayersSize"]
    used = sum(image["Size"] - image["SharedSize"] for image in images if image["Containers"])
    container_size = sum(container["SizeRw"] for container in containers)
    volume_size = sum(volume["UsageData"]["Size"] for volume in volumes)
    return [
        {"Type": "Images", "TotalCount": len(images),
         "Active": sum(1 for image in images if image["Containers"]),
         "Size": total_images, "Reclaimable": max(total_images - used, 0)},
        {"Type": "Containers", "TotalCount": len(containers),
         "Active": sum(1 for c in containers if c["State"] in RUNNING),
         "Size": container_size,
         "Reclaimable": sum(c["SizeRw"] for c in containers if c["State"] not in RUNNING)},
        {"Type": "Local Volumes", "TotalCount": len(volumes),
         "Active": sum(1 for volume in volumes if volume["UsageData"]["RefCount"]),
         "Size": volume_size,
         "Reclaimable": sum(volume["UsageData"]["Size"] for volume in volumes
                            if not volume["UsageData"]["RefCount"])},
        {"Type": "Build Cache", "TotalCount": len(cache),
         "Active": sum(1 for entry in cache if entry["InUse"]),
         "Size": sum(entry["Size"] for entry in cache),
         "Reclaimable": sum(entry["Size"] for entry in cache if not entry["InUse"])},
    ]


def _ago(seconds: float) -> str:
    from runtime.container.inspect import human_duration
    return human_duration(time.time() - seconds) + " ago"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Docker's tabwriter layout (as runtime.cli.output.print_table), as text."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    return "".join("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
                   + "\n" for row in [headers] + rows)


def verbose_text(usage: dict) -> str:
    """`system df -v`: a section per kind, one line per object."""
    from runtime.container.inspect import parse_time
    image_rows = []
    for image in usage["Images"]:
        for tag in image["RepoTags"] or ["<none>:<none>"]:
            repository, _, name = tag.rpartition(":")
            image_rows.append([repository, name, short_id(image["Id"]), _ago(image["Created"]),
                               human_size(image["Size"]), human_size(image["SharedSize"]),
                               human_size(image["Size"] - image["SharedSize"]),
                               str(image["Containers"])])
    container_rows = []
    for container in usage["Containers"]:
        command = container["Command"]
        command = command[:19] + "…" if len(command) > 20 else command
        image = container["Image"]
        image = short_id(image) if image.startswith("sha256:") else image
        volumes = sum(1 for mount in container["Mounts"] if mount.get("Driver") == "local")
        container_rows.append([short_id(container["Id"]), image, json.dumps(command),
                               str(volumes), human_size(container["SizeRw"]),
                               _ago(container["Created"]), container["Status"],
                               container["Names"][0].lstrip("/")])
    volume_rows = [[volume["Name"], str(volume["UsageData"]["RefCount"]),
                    human_size(volume["UsageData"]["Size"])] for volume in usage["Volumes"]]
    cache_rows = []
    for entry in usage["BuildCache"]:
        created = parse_time(entry["CreatedAt"]) or 0
        cache_rows.append([entry["ID"][:12], entry["Type"], human_size(entry["Size"]),
                           _ago(created), _ago(parse_time(entry["LastUsedAt"]) or created),
                           str(entry["UsageCount"]), str(entry["Shared"]).lower()])
    cache_size = sum(entry["Size"] for entry in usage["BuildCache"])
    return (
        "Images space usage:\n\n" +
        _table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
                "UNIQUE SIZE", "CONTAINERS"], image_rows) +
        "\nContainers space usage:\n\n" +
        _table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED",
                "STATUS", "NAMES"], container_rows) +
        "\nLocal Volumes space usage:\n\n" +
        _table(["VOLUME NAME", "LINKS", "SIZE"], volume_rows) +
        f"\nBuild cache usage: {human_size(cache_size)}\n\n" +
        _table(["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"],
               cache_rows))
