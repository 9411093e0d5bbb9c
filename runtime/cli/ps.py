"""`moor ps` (`container ls`): the containers, Docker's filters, sizes and table."""

import os
import sys

from runtime.cli.output import engine_for, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.ID}}\\t{{.Names}}', 'table {{.ID}}\\t{{.Status}}' (with column "
                 "titles), 'json', 'raw'")


def args_ps(parser):
    parser.add_argument("-a", "--all", action="store_true", help="show all, not only running")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="filter: status=, name=, id=, label=, ancestor=, exited=")
    parser.add_argument("-l", "--latest", action="store_true", help="only the latest created")
    parser.add_argument("-n", "--last", type=int, default=None, help="the n latest created")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID .Image "
                        ".Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names "
                        ".Labels .Label .Mounts .Networks .LocalVolumes")


def _filters(values):
    from runtime.errors import InvalidArgument
    filters = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or key not in ("status", "name", "id", "label", "ancestor", "exited"):
            raise InvalidArgument(f"invalid filter {value!r}")
        filters.append((key, wanted))
    return filters


def _matches(summary, filters) -> bool:
    for key, wanted in filters:
        if key == "status" and summary["State"] != wanted:
            return False
        if key == "name" and not any(wanted in n.lstrip("/") for n in summary["Names"]):
            return False
        if key == "id" and not summary["Id"].startswith(wanted):
            return False
        if key == "exited" and (summary["State"] != "exited" or
                                str(summary["ExitCode"]) != wanted):
            return False
        if key == "ancestor" and wanted not in (summary["Image"], summary["ImageID"],
                                                summary["ImageID"][7:19]):
            return False
        if key == "label":
            name, _, value = wanted.partition("=")
            labels = summary["Labels"]
            if name not in labels or (value and labels[name] != value):
                return False
    return True


def cmd_ps(args) -> int:
    engine = engine_for(args)
    filters = _filters(args.filter)
    show_all = args.all or bool(filters) or args.latest or args.last is not None
    rows = [s for s in engine.containers(all=show_all) if _matches(s, filters)]
    if args.latest:
        rows = rows[:1]
    elif args.last is not None:
        rows = rows[:args.last]
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
                                          details=_details(engine, summary["Id"]),
                                          sizes=_sizes(engine, summary) if sizes else None)
                             for summary in rows], ContainerRow)
    return 0


def _details(engine, container_id: str):
    """The container's inspect document, read when a template first needs it."""
    from runtime.errors import MoorError

    def read() -> dict:
        try:
            return engine.inspect(container_id)
        except MoorError:           # removed meanwhile
            return {}
    return read


def _sizes(engine, summary: dict):
    """(SizeRw, SizeRootFs) of a container, as Docker counts them: the bytes of the files of
    its writable layer (each inode once), and those plus its image's."""
    def measure() -> tuple[int, int]:
        from runtime.errors import MoorError
        seen, size_rw = set(), 0
        try:
            upper = engine.container(summary["Id"]).path("upper")
        except MoorError:
            return 0, 0
        for directory, subdirectories, files in os.walk(upper):
            for name in files + [d for d in subdirectories
                                 if os.path.islink(os.path.join(directory, d))]:
                try:
                    info = os.lstat(os.path.join(directory, name))
                except OSError:
                    continue
                if info.st_size and info.st_ino not in seen:
                    seen.add(info.st_ino)
                    size_rw += info.st_size
        try:
            image_size = engine.store.size(summary["ImageID"])
        except MoorError:
            image_size = 0
        return size_rw, size_rw + image_size
    return measure


