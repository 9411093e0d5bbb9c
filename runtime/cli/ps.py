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


def cmd_ps(args) -> int:
    from runtime.cli.filters import parse
    from runtime.container.filters import FILTERS, ContainerFilters
    engine = engine_for(args)
    filters = ContainerFilters(engine, parse(args.filter, FILTERS))
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
    """(SizeRw, SizeRootFs) of a container, measured when a row first shows them."""
    def measure() -> tuple[int, int]:
        from runtime.disk_usage import container_sizes
        return container_sizes(engine, summary)
    return measure
