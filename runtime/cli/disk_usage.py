"""How `moor system df` prints `Engine.system_df()`: Docker's summary table (TYPE, TOTAL,
ACTIVE, SIZE, RECLAIMABLE) and its `-v` sections, with Docker's decimal sizes."""

import json
import time

from runtime.cli.output import short_id

RUNNING = ("running", "paused", "restarting")


def human_size(size: float) -> str:
    """Docker's units.HumanSize: decimal units, four significant digits (`16.43MB`, `212B`)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1000 or unit == "PB":
            return f"{size:.4g}{unit}"
        size /= 1000.0
    return f"{size}"


def _reclaimable(reclaimable: int, total: int, percent: bool = True) -> str:
    if percent and total > 0:
        return f"{human_size(reclaimable)} ({reclaimable * 100 // total}%)"
    return human_size(reclaimable)


def summary_rows(usage: dict) -> list[dict]:
    """One row per kind, with Docker's reckoning of what is reclaimable: images' size less
    the unique size of those a container uses; stopped containers' writable layers; volumes
    no container names; build cache nothing uses."""
    images, containers = usage["Images"], usage["Containers"]
    volumes, cache = usage["Volumes"], usage["BuildCache"]
    total_images = usage["LayersSize"]
    used = sum(image["Size"] - image["SharedSize"] for image in images if image["Containers"])
    container_size = sum(container["SizeRw"] for container in containers)
    stopped_size = sum(container["SizeRw"] for container in containers
                       if container["State"] not in RUNNING)
    volume_size = sum(volume["UsageData"]["Size"] for volume in volumes)
    unused_volume_size = sum(volume["UsageData"]["Size"] for volume in volumes
                             if not volume["UsageData"]["RefCount"])
    cache_size = sum(entry["Size"] for entry in cache)
    return [
        {"Type": "Images", "TotalCount": str(len(images)),
         "Active": str(sum(1 for image in images if image["Containers"])),
         "Size": human_size(total_images),
         "Reclaimable": _reclaimable(max(total_images - used, 0), total_images)},
        {"Type": "Containers", "TotalCount": str(len(containers)),
         "Active": str(sum(1 for c in containers if c["State"] in RUNNING)),
         "Size": human_size(container_size),
         "Reclaimable": _reclaimable(stopped_size, container_size)},
        {"Type": "Local Volumes", "TotalCount": str(len(volumes)),
         "Active": str(sum(1 for volume in volumes if volume["UsageData"]["RefCount"])),
         "Size": human_size(volume_size),
         "Reclaimable": _reclaimable(unused_volume_size, volume_size)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)),
         "Active": str(sum(1 for entry in cache if entry["InUse"])),
         "Size": human_size(cache_size),
         "Reclaimable": _reclaimable(sum(e["Size"] for e in cache if not e["InUse"]),
                                     cache_size, percent=False)},
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
