"""What a `--format` template sees for each item `ps`, `images`, `history`, `network ls`,
`stats`, `system df`, `search`, `volume ls` and `group ls` list: Docker's formatter contexts
(docker/cli's cli/command/formatter), whose methods are the fields users write (`{{.ID}}`,
`{{.Names}}`, `{{.Label "k"}}`...), with their truncation (`--no-trunc` turns it off), their
quoting and their units. Each row class has `HEADER` (the column titles `table` prints),
`DEFAULT` (the table printed without `--format`) and `RAW` (`--format raw`); `go_json()` is
what `{{json .}}` and `--format json` print: every field, keys sorted, as Docker's MarshalJSON
does.
"""

import time

from runtime.gotemplate import NIL_POINTER, go_method
from runtime.gotemplate.goformat import format_float, quote

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def truncate_id(identifier: str) -> str:
    """stringid.TruncateID: without the algorithm prefix, 12 characters."""
    return identifier.partition(":")[2][:12] if ":" in identifier else identifier[:12]


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, `precision` significant digits."""
    unit = 0
    while size >= 1000.0 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return format_float(float(size), "g", precision) + _DECIMAL_UNITS[unit]


def _char_width(char: str) -> int:
    import unicodedata
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def ellipsis(text: str, width: int) -> str:
    """formatter.Ellipsis: cut to `width` display columns, ending in "…"."""
    if width <= 0:
        return ""
    if width == 1:
        return text[:1]
    if text.isascii():
        return text if len(text) <= width else text[:width - 1] + "…"
    used = 0
    for index, char in enumerate(text):
        used += _char_width(char)
        if used > width - 1:
            rest = sum(_char_width(c) for c in text[index:])
            return text if used - _char_width(char) + rest <= width else text[:index] + "…"
    return text


def go_time(seconds: float) -> str:
    """Go's time.Unix(seconds, 0).String(): local time, `2006-01-02 15:04:05 -0700 MST`."""
    local = time.localtime(seconds)
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", local)


def ago(seconds: float) -> str:
    from runtime.container.inspect import human_duration
    return human_duration(time.time() - seconds) + " ago"


def _join_host_port(host: str, port) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def displayable_ports(ports: list[dict]) -> str:
    """formatter.DisplayablePorts: `0.0.0.0:8080->80/tcp, 9000-9001/tcp`, consecutive
    ports grouped into ranges, published ones first."""
    if not ports:
        return ""
    ordered = ports if len(ports) == 1 else sorted(
        ports, key=lambda p: (p["PrivatePort"], p.get("IP") or "", p.get("PublicPort") or 0,
                              p["Type"]))
    groups: dict[str, list[int]] = {}
    order, result, host_mappings = [], [], []
    for port in ordered:
        current, key, address = port["PrivatePort"], port["Type"], port.get("IP") or ""
        if address:
            if port.get("PublicPort") != current:
                host_mappings.append(f"{_join_host_port(address, port.get('PublicPort') or 0)}"
                                     f"->{current}/{port['Type']}")
                continue
            key = f"{address}/{port['Type']}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
            order.append(key)
        elif current == group[1] + 1:
            group[1] = current
        else:
            result.append(_port_group(key, *group))
            groups[key] = [current, current]
    result += [_port_group(key, *groups[key]) for key in order] + host_mappings
    return ", ".join(result)


def _port_group(key: str, first: int, last: int) -> str:
    address, _, kind = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if address:
        group = f"{_join_host_port(address, group)}->{group}"
    return f"{group}/{kind}"


class Header(dict):
    """The values a table's header line is rendered from: column titles by field name
    (Docker's SubHeaderContext); `{{.Label "com.example.x"}}` titles its column `x`."""

    @go_method("string")
    def Label(self, name: str) -> str:
        return name.split(".")[-1].replace("-", " ").replace("_", " ")


class Row:
    """A formatter context: `FIELDS` are the methods `{{json .}}` shows."""
    FIELDS: tuple = ()

    def go_json(self) -> dict:
        return {name: getattr(self, name)() for name in sorted(self.FIELDS)}


class ContainerRow(Row):
    """A container in `ps` (formatter.ContainerContext). `details()` returns the container's
    inspect document (for mounts and networks, read only when a template asks) and
    `sizes()` its (SizeRw, SizeRootFs)."""
    go_type = "*formatter.ContainerContext"
    FIELDS = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts",
              "Names", "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status")
    HEADER = Header({
        "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
        "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS",
        "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
        "Platform": "PLATFORM",
    })
    DEFAULT = ("table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t"
               "{{.Ports}}\\t{{.Names}}")
    RAW = ("container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\n"
           "created_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\n"
           "status: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\n"
           "ports: {{- pad .Ports 1 0}}\n")

    def __init__(self, summary: dict, trunc: bool = True, details=None, sizes=None):
        self.summary = summary
        self.trunc = trunc
        self._details = details
        self._sizes = sizes
        self.fields_used: set[str] = set()

    def details(self) -> dict:
        if callable(self._details):
            self._details = self._details()
        return self._details or {}

    @go_method()
    def ID(self) -> str:
        return truncate_id(self.summary["Id"]) if self.trunc else self.summary["Id"]

    @go_method()
    def Names(self) -> str:
        names = [name[1:] if name.startswith("/") else name for name in self.summary["Names"]]
        if self.trunc:
            return next((name for name in names if "/" not in name), "")
        return ",".join(names)

    @go_method()
    def Image(self) -> str:
        image = self.summary.get("Image") or ""
        if not image:
            return "<no image>"
        if not self.trunc:
            return image
        if truncate_id(self.summary.get("ImageID") or "") == truncate_id(image):
            return truncate_id(image)
        name = image.split("@", 1)[0]
        for prefix in ("docker.io/library/", "docker.io/"):
            if name.startswith(prefix):
                return name[len(prefix):]
        return name

    @go_method()
    def Command(self) -> str:
        command = self.summary.get("Command") or ""
        return quote(ellipsis(command, 20) if self.trunc else command)

    @go_method()
    def CreatedAt(self) -> str:
        return go_time(self.summary["Created"])

    @go_method()
    def RunningFor(self) -> str:
        return ago(self.summary["Created"])

    @go_method()
    def Ports(self) -> str:
        return displayable_ports(self.summary.get("Ports") or [])

    @go_method()
    def State(self) -> str:
        return self.summary["State"]

    @go_method()
    def Status(self) -> str:
        return self.summary["Status"]

    @go_method()
    def Size(self) -> str:
        self.fields_used.add("Size")
        size_rw, size_root = self._sizes() if self._sizes else (0, 0)
        if size_root:
            return f"{human_size(size_rw)} (virtual {human_size(size_root)})"
        return human_size(size_rw)

    @go_method()
    def Labels(self) -> str:
        labels = self.summary.get("Labels") or {}
        return ",".join(sorted(f"{key}={value}" for key, value in labels.items()))

    @go_method("string")
    def Label(self, name: str) -> str:
        return (self.summary.get("Labels") or {}).get(name, "")

    @go_method()
    def Mounts(self) -> str:
        names = []
        for mount in self.details().get("Mounts") or []:
            name = mount.get("Name") or mount.get("Source") or ""
            names.append(ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    @go_method()
    def LocalVolumes(self) -> str:
        return str(sum(1 for mount in self.details().get("Mounts") or []
                       if mount.get("Driver") == "local"))

    @go_method()
    def Networks(self) -> str:
        networks = (self.details().get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(sorted(networks))

    @go_method()
    def Platform(self):
        """The platform of the image manifest the container was made from: the engine keeps
        none (as Docker without a manifest descriptor), so nil."""
        return NIL_POINTER


class ImageRow(Row):
    """One repository:tag of an image in `images` (formatter.imageContext)."""
    go_type = "*formatter.imageContext"
    FIELDS = ("Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
              "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize")
    HEADER = Header({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE",
        "UniqueSize": "UNIQUE SIZE",
    })
    DEFAULT = ("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}"
               "{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}")
    DEFAULT_WITH_DIGEST = ("table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t"
                           "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t"
                           "{{.Size}}")
    RAW = ("repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\n"
           "created_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n")
    RAW_WITH_DIGEST = ("repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\n"
                       "image_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\n"
                       "virtual_size: {{.Size}}\n")

    def __init__(self, summary: dict, repository: str, tag: str, trunc: bool = True,
                 digest: str = "<none>"):
        self.summary = summary
        self.repository = repository
        self.tag = tag
        self.trunc = trunc
        self.digest = digest

    @go_method()
    def ID(self) -> str:
        return truncate_id(self.summary["Id"]) if self.trunc else self.summary["Id"]

    @go_method()
    def Repository(self) -> str:
        return self.repository

    @go_method()
    def Tag(self) -> str:
        return self.tag

    @go_method()
    def Digest(self) -> str:
        return self.digest

    @go_method()
    def CreatedSince(self) -> str:
        return ago(self.summary["Created"]) if self.summary.get("Created") else ""

    @go_method()
    def CreatedAt(self) -> str:
        return go_time(self.summary.get("Created") or 0)

    @go_method()
    def Size(self) -> str:
        return human_size(self.summary["Size"])

    @go_method()
    def Containers(self) -> str:
        count = self.summary.get("Containers", -1)
        return "N/A" if count == -1 else str(count)

    @go_method()
    def VirtualSize(self) -> str:
        return human_size(self.summary["Size"], 4)

    @go_method()
    def SharedSize(self) -> str:
        shared = self.summary.get("SharedSize", -1)
        return "N/A" if shared == -1 else human_size(shared, 4)

    @go_method()
    def UniqueSize(self) -> str:
        shared = self.summary.get("SharedSize", -1)
        if shared == -1 or self.summary["Size"] == -1:
            return "N/A"
        return human_size(self.summary["Size"] - shared, 4)


class HistoryRow(Row):
    """One step of an image's history (formatter.historyContext)."""
    go_type = "*image.historyContext"
    FIELDS = ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")
    HEADER = Header({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    })
    DEFAULT = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"
    DEFAULT_NOT_HUMAN = ("table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedBy}}\\t{{.Size}}\\t"
                         "{{.Comment}}")

    def __init__(self, entry: dict, trunc: bool = True, human: bool = True):
        self.entry = entry
        self.trunc = trunc
        self.human = human

    @go_method()
    def ID(self) -> str:
        return truncate_id(self.entry["Id"]) if self.trunc else self.entry["Id"]

    @go_method()
    def CreatedAt(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.entry["Created"]))

    @go_method()
    def CreatedSince(self) -> str:
        return ago(self.entry["Created"]) if self.human else self.CreatedAt()

    @go_method()
    def CreatedBy(self) -> str:
        created_by = self.entry.get("CreatedBy", "").replace("\t", " ")
        return ellipsis(created_by, 45) if self.trunc else created_by

    @go_method()
    def Size(self) -> str:
        return human_size(self.entry["Size"]) if self.human else str(self.entry["Size"])

    @go_method()
    def Comment(self) -> str:
        return self.entry.get("Comment", "")


class NetworkRow(Row):
    """A network in `network ls` (network.networkContext)."""
    go_type = "*network.networkContext"
    FIELDS = ("CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name",
              "Scope")
    HEADER = Header({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
        "CreatedAt": "CREATED AT",
    })
    DEFAULT = "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}"
    RAW = "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n"

    def __init__(self, network: dict, trunc: bool = True):
        self.network = network
        self.trunc = trunc

    @go_method()
    def ID(self) -> str:
        return truncate_id(self.network["Id"]) if self.trunc else self.network["Id"]

    @go_method()
    def Name(self) -> str:
        return self.network["Name"]

    @go_method()
    def Driver(self) -> str:
        return self.network["Driver"]

    @go_method()
    def Scope(self) -> str:
        return self.network["Scope"]

    @go_method()
    def IPv4(self) -> str:
        return "true" if self.network.get("EnableIPv4", True) else "false"

    @go_method()
    def IPv6(self) -> str:
        return "true" if self.network.get("EnableIPv6") else "false"

    @go_method()
    def Internal(self) -> str:
        return "true" if self.network.get("Internal") else "false"

    @go_method()
    def Labels(self) -> str:
        labels = self.network.get("Labels") or {}
        return ",".join(sorted(f"{key}={value}" for key, value in labels.items()))

    @go_method("string")
    def Label(self, name: str) -> str:
        return (self.network.get("Labels") or {}).get(name, "")

    @go_method()
    def CreatedAt(self) -> str:
        """Go's Time.String() of the engine's UTC time (`...T05:00:02.3196Z`)."""
        created = self.network.get("Created") or ""
        if len(created) < 19:
            return "0001-01-01 00:00:00 +0000 UTC"
        fraction = created[20:].rstrip("Z").rstrip("0") if created[19:20] == "." else ""
        return f"{created[:10]} {created[11:19]}{'.' + fraction if fraction else ''} +0000 UTC"


class StatsRow(Row):
    """A container's resource usage in `stats` (container.statsContext)."""
    go_type = "*container.statsContext"
    FIELDS = ("BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO",
              "PIDs")
    HEADER = Header({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    })
    DEFAULT = ("table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t"
               "{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}")

    def __init__(self, sample: dict, container: str, trunc: bool = True):
        self.sample = sample
        self.container = container
        self.trunc = trunc

    @go_method()
    def Container(self) -> str:
        return self.container

    @go_method()
    def Name(self) -> str:
        return self.sample.get("name") or "--"

    @go_method()
    def ID(self) -> str:
        return truncate_id(self.sample["id"]) if self.trunc else self.sample["id"]

    @go_method()
    def CPUPerc(self) -> str:
        return f"{self.sample['cpu_percent']:.2f}%"

    @go_method()
    def MemUsage(self) -> str:
        return f"{self.sample['memory_text']} / {self.sample['limit_text']}"

    @go_method()
    def MemPerc(self) -> str:
        return f"{self.sample['memory_percent']:.2f}%"

    @go_method()
    def NetIO(self) -> str:
        return self.sample["net_text"]

    @go_method()
    def BlockIO(self) -> str:
        return self.sample["block_text"]

    @go_method()
    def PIDs(self) -> str:
        return str(self.sample["pids"])


class DiskUsageRow(Row):
    """One kind of object in `system df` (formatter.diskUsage*Context)."""
    go_type = "*formatter.diskUsageImagesContext"
    FIELDS = ("Active", "Reclaimable", "Size", "TotalCount", "Type")
    HEADER = Header({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
                     "Size": "SIZE", "Reclaimable": "RECLAIMABLE"})
    DEFAULT = "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}"
    RAW = ("type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n"
           "reclaimable: {{.Reclaimable}}\n")

    def __init__(self, usage: dict):
        self.usage = usage

    @go_method()
    def Type(self) -> str:
        return self.usage["Type"]

    @go_method()
    def TotalCount(self) -> str:
        return str(self.usage["TotalCount"])

    @go_method()
    def Active(self) -> str:
        return str(self.usage["Active"])

    @go_method()
    def Size(self) -> str:
        return human_size(self.usage["Size"], 4)

    @go_method()
    def Reclaimable(self) -> str:
        """With its share of the size in percent, but for the build cache (as Docker's)."""
        size, reclaimable = self.usage["Size"], self.usage["Reclaimable"]
        text = human_size(reclaimable, 4)
        if size > 0 and self.usage["Type"] != "Build Cache":
            return f"{text} ({reclaimable * 100 // size}%)"
        return text


class SearchRow(Row):
    """A repository `search` found (formatter.searchContext); a registry's catalog gives
    names alone: no description, no stars, nothing official."""
    go_type = "*formatter.searchContext"
    FIELDS = ("Description", "IsAutomated", "IsOfficial", "Name", "StarCount")
    HEADER = Header({"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
                     "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"})
    DEFAULT = "table {{.Name}}\\t{{.Description}}\\t{{.StarCount}}\\t{{.IsOfficial}}"

    def __init__(self, result: dict, trunc: bool = True):
        self.result = result
        self.trunc = trunc

    @go_method()
    def Name(self) -> str:
        return self.result["name"]

    @go_method()
    def Description(self) -> str:
        text = self.result.get("description") or ""
        text = text.replace("\n", " ").replace("\r", " ")
        return ellipsis(text, 45) if self.trunc else text

    @go_method()
    def StarCount(self) -> str:
        return str(self.result.get("star_count") or 0)

    @go_method()
    def IsOfficial(self) -> str:
        return "[OK]" if self.result.get("is_official") else ""

    @go_method()
    def IsAutomated(self) -> str:
        return "[OK]" if self.result.get("is_automated") else ""


class VolumeRow(Row):
    """A volume in `volume ls` (formatter.volumeContext)."""
    go_type = "*formatter.volumeContext"
    FIELDS = ("Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name",
              "Scope", "Size", "Status")
    HEADER = Header({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
        "Group": "GROUP", "Availability": "AVAILABILITY", "Status": "STATUS",
    })
    DEFAULT = "table {{.Driver}}\\t{{.Name}}"

    def __init__(self, volume: dict):
        self.volume = volume

    def _usage(self, key: str):
        usage = self.volume.get("UsageData") or {}
        return usage.get(key, -1)

    @go_method()
    def Name(self) -> str:
        return self.volume["Name"]

    @go_method()
    def Driver(self) -> str:
        return self.volume.get("Driver", "local")

    @go_method()
    def Scope(self) -> str:
        return self.volume.get("Scope", "local")

    @go_method()
    def Mountpoint(self) -> str:
        return self.volume.get("Mountpoint", "")

    @go_method()
    def Labels(self) -> str:
        labels = self.volume.get("Labels") or {}
        return ",".join(f"{key}={value}" for key, value in labels.items())

    @go_method("string")
    def Label(self, name: str) -> str:
        return (self.volume.get("Labels") or {}).get(name, "")

    @go_method()
    def Links(self) -> str:
        count = self._usage("RefCount")
        return "N/A" if count == -1 else str(count)

    @go_method()
    def Size(self) -> str:
        size = self._usage("Size")
        return "N/A" if size == -1 else human_size(size)

    @go_method()
    def Group(self) -> str:
        return "N/A"

    @go_method()
    def Availability(self) -> str:
        return "N/A"

    @go_method()
    def Status(self) -> str:
        return "N/A"


class GroupRow(Row):
    """A group in `group ls` (Moorage's own listing, in the manner of `volume ls`)."""
    go_type = "*formatter.groupContext"
    FIELDS = ("CPUs", "Containers", "CreatedAt", "Memory", "Name", "PIDs")
    HEADER = Header({
        "Name": "NAME", "Memory": "MEMORY", "CPUs": "CPUS", "PIDs": "PIDS",
        "Containers": "CONTAINERS", "CreatedAt": "CREATED AT",
    })
    DEFAULT = "table {{.Name}}\\t{{.Memory}}\\t{{.CPUs}}\\t{{.PIDs}}\\t{{.Containers}}"

    def __init__(self, group: dict):
        self.group = group

    @go_method()
    def Name(self) -> str:
        return self.group["Name"]

    @go_method()
    def Memory(self) -> str:
        from runtime.container.cgroups import human_bytes
        memory = self.group.get("Memory") or 0
        return human_bytes(memory) if memory else "unlimited"

    @go_method()
    def CPUs(self) -> str:
        nano = self.group.get("NanoCpus") or 0
        return format_float(nano / 1e9, "g") if nano else "unlimited"

    @go_method()
    def PIDs(self) -> str:
        pids = self.group.get("PidsLimit") or 0
        return str(pids) if pids else "unlimited"

    @go_method()
    def Containers(self) -> str:
        return str(len(self.group.get("Containers") or []))

    @go_method()
    def CreatedAt(self) -> str:
        return self.group.get("CreatedAt", "")
