"""`moor ps` (`container ls`): the containers, Docker's filters, sizes and table."""

import sys

from runtime.cli.output import engine_for, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.ID}}\\t{{.Names}}', 'table {{.ID}}\\t{{.Status}}' (with column "
                 "titles), 'json', 'raw'")


def args_ps(parser):
    parser.add_argument("-a", "--all", action="store_true", help="show all, not only running")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="id=, name= (regular expressions), status=STATE, label=KEY[=VALUE], "
                             "exited=CODE, ancestor=IMAGE, before=CONTAINER, since=CONTAINER, "
                             "network=NETWORK, volume=NAME|PATH, publish=PORT[/PROTO], "
                             "expose=PORT[-PORT][/PROTO], health=starting|healthy|unhealthy|"
                             "none")
    parser.add_argument("-l", "--latest", action="store_true", help="only the latest created")
    parser.add_argument("-n", "--last", type=int, default=None, help="the n latest created")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID .Image "
                        ".Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names "
                        ".Labels .Label .Mounts .Networks .LocalVolumes")


STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")
FILTERS = ("ancestor", "before", "exited", "expose", "health", "id", "label", "name",
           "network", "publish", "since", "status", "volume")


class Filters:
    """Docker's `ps --filter`s (its daemon's list.go): a container must match every key
    given, and one of the values of each (all of them for `label`)."""

    def __init__(self, engine, values: list[str]):
        from runtime.cli import filters
        from runtime.errors import InvalidArgument
        self.engine = engine
        self.wanted = filters.parse(values, FILTERS)
        for key, allowed in (("status", STATES), ("health", HEALTH)):
            bad = [value for value in self.wanted.get(key, ()) if value not in allowed]
            if bad:
                raise InvalidArgument(f"invalid filter '{key}={bad[0]}'")
        try:
            self.exit_codes = {int(value) for value in self.wanted.get("exited", ())}
        except ValueError as error:
            raise InvalidArgument(f"invalid filter 'exited': {error}") from None
        self.publish = self._ports("publish")
        self.expose = self._ports("expose")
        self.ancestors = self._ancestors()
        # `before`/`since` name containers, which must exist (as in Docker).
        self.before = [engine.container(ref).id for ref in self.wanted.get("before", ())]
        self.since = [engine.container(ref).id for ref in self.wanted.get("since", ())]

    @property
    def show_all(self) -> bool:
        """As Docker: asking for exited or created containers lists them without -a."""
        return bool({"exited", "created"} & set(self.wanted.get("status", ())))

    def _ports(self, key: str) -> set[str]:
        """`80`, `80/udp`, `8000-8080/tcp` -> {"80/tcp", ...}."""
        from runtime.errors import InvalidArgument
        ports = set()
        for value in self.wanted.get(key, ()):
            if ":" in value:
                raise InvalidArgument(f"filter for '{key}' should not contain ':': {value}")
            numbers, _, proto = value.partition("/")
            first, _, last = numbers.partition("-")
            try:
                start, end = int(first), int(last or first)
            except ValueError:
                raise InvalidArgument(f"invalid port range for '{key}': {value}") from None
            if not 0 < start <= end <= 65535:
                raise InvalidArgument(f"invalid port range for '{key}': {value}")
            ports.update(f"{number}/{proto or 'tcp'}" for number in range(start, end + 1))
        return ports

    def _ancestors(self) -> set[str] | None:
        """The images named and every image made from them (Docker's ancestor: an image the
        container's image descends from); an unknown image matches nothing."""
        if "ancestor" not in self.wanted:
            return None
        from runtime.errors import MoorError
        store = self.engine.store
        found = set()
        for ref in self.wanted["ancestor"]:
            try:
                found.add(store.resolve(ref))
            except MoorError:
                continue
        children: dict[str, list[str]] = {}
        for image_id in store.image_ids():
            try:
                children.setdefault(store.parent(image_id), []).append(image_id)
            except MoorError:
                continue
        pending = list(found)
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def apply(self, summaries: list[dict], details) -> list[dict]:
        """The summaries (newest first) that pass, `details(id)` giving a container's inspect
        document when a filter needs it."""
        kept, before = [], set(self.before)
        for summary in summaries:
            if summary["Id"] in self.since:
                break
            if before:
                before.discard(summary["Id"])
                continue
            if self.matches(summary, lambda: details(summary["Id"])):
                kept.append(summary)
        return kept

    def matches(self, summary: dict, details) -> bool:
        import re
        wanted = self.wanted

        def any_match(key: str, text: str) -> bool:
            for pattern in wanted[key]:
                try:
                    if re.search(pattern, text):
                        return True
                except re.error:
                    continue
            return False

        if "id" in wanted and not any_match("id", summary["Id"]):
            return False
        if "name" in wanted and not any(any_match("name", name) for name in summary["Names"]):
            return False
        if "status" in wanted and summary["State"] not in wanted["status"]:
            return False
        if "label" in wanted:
            from runtime.image.listing import labels_match
            if not labels_match(wanted["label"], summary["Labels"] or {}):
                return False
        if self.exit_codes and not (summary["State"] in ("exited", "dead") and
                                    summary["ExitCode"] in self.exit_codes):
            return False
        if self.ancestors is not None and summary["ImageID"] not in self.ancestors:
            return False
        if not ({"health", "network", "volume", "publish", "expose"} & set(wanted)):
            return True
        document = details()
        state = document.get("State") or {}
        if "health" in wanted and ((state.get("Health") or {}).get("Status") or "none") \
                not in wanted["health"]:
            return False
        if "network" in wanted and not self._on_network(document):
            return False
        if "volume" in wanted and not self._has_volume(document):
            return False
        bindings = set((document.get("HostConfig") or {}).get("PortBindings") or {})
        exposed = set((document.get("Config") or {}).get("ExposedPorts") or {}) | bindings
        if (document.get("HostConfig") or {}).get("PublishAllPorts"):
            bindings |= exposed
        if self.publish and not self.publish & bindings:
            return False
        if self.expose and not self.expose & exposed:
            return False
        return True

    def _on_network(self, document: dict) -> bool:
        """A network the container is on, by name or ID prefix (the one it asked for, when
        it has not run yet)."""
        networks = (document.get("NetworkSettings") or {}).get("Networks") or {}
        names = set(networks) | {(document.get("HostConfig") or {}).get("NetworkMode")}
        ids = [(network or {}).get("NetworkID") or "" for network in networks.values()]
        return any(value in names or any(i and i.startswith(value) for i in ids)
                   for value in self.wanted["network"])

    def _has_volume(self, document: dict) -> bool:
        """A mount by its volume's name (its source, for a bind) or its destination."""
        names = set()
        for mount in document.get("Mounts") or []:
            names.add(mount.get("Name") or mount.get("Source"))
            names.add(mount.get("Destination"))
        return bool(names & set(self.wanted["volume"]))


def cmd_ps(args) -> int:
    engine = engine_for(args)
    filters = Filters(engine, args.filter)
    last = 1 if args.latest else args.last
    show_all = args.all or filters.show_all or (last is not None and last > 0)
    details = _details(engine)
    rows = filters.apply(engine.containers(all=show_all), details)
    if last is not None and last > 0:
        rows = rows[:last]
    if args.quiet:
        if args.format and args.format != "table":
            sys.stderr.write("WARNING: Ignoring custom format, because both --format and "
                             "--quiet are set.\n")
        write("".join((s["Id"] if args.no_trunc else s["Id"][:12]) + "\n" for s in rows))
        return 0
    from runtime.cli.output import fields_used, print_rows
    from runtime.cli.rows import ContainerRow
    format_text, sizes = args.format, args.size
    if args.size and (not format_text or format_text in ("table", "raw")):
        format_text = (ContainerRow.RAW + "size: {{.Size}}\n" if format_text == "raw"
                       else ContainerRow.DEFAULT + "\\t{{.Size}}")
    elif format_text and not args.size:
        # Sizes are costly: computed only when the template shows them, as Docker does.
        probe = ContainerRow({"Id": "", "Names": [], "Created": 0, "State": "", "Status": ""})
        sizes = "Size" in fields_used(format_text, probe)
    print_rows(format_text, [ContainerRow(summary, trunc=not args.no_trunc,
                                          details=lambda i=summary["Id"]: details(i),
                                          sizes=_sizes(engine, summary) if sizes else None)
                             for summary in rows], ContainerRow)
    return 0


def _details(engine):
    """A container's inspect document by ID, read once, when a filter or a template first
    needs it."""
    from runtime.errors import MoorError
    documents: dict[str, dict] = {}

    def read(container_id: str) -> dict:
        if container_id not in documents:
            try:
                documents[container_id] = engine.inspect(container_id)
            except MoorError:           # removed meanwhile
                documents[container_id] = {}
        return documents[container_id]
    return read


def _sizes(engine, summary: dict):
    """(SizeRw, SizeRootFs) of a container, as Docker counts them: the bytes of the files of
    its writable layer, and those plus its image's."""
    def measure() -> tuple[int, int]:
        from runtime.cli.usage import writable_size
        from runtime.errors import MoorError
        size_rw = writable_size(engine, summary["Id"])
        try:
            image_size = engine.store.size(summary["ImageID"])
        except MoorError:
            image_size = 0
        return size_rw, size_rw + image_size
    return measure
