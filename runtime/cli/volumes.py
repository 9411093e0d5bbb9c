"""`moor volume create|ls|inspect|rm|prune`, with Docker's flags and output."""

import json
import sys

from runtime.cli.output import engine_for, print_documents, print_rows, write


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
    from runtime.cli import Parser
    volume = subparsers.add_parser("volume", help="manage volumes",
                                   description="Manage volumes.")
    verbs = volume.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    volume.set_defaults(func=lambda args: volume.print_help() or 0)

    create = verbs.add_parser("create", help="create a volume")
    create.add_argument("-d", "--driver", default="local", help="only local")
    create.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="set metadata on the volume")
    create.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="driver options (the local driver of this engine takes none)")
    create.add_argument("name", nargs="?", metavar="VOLUME",
                        help="a name (default: an anonymous 64-hex one)")
    create.set_defaults(func=cmd_create)

    ls = verbs.add_parser("ls", aliases=["list"], help="list volumes")
    ls.add_argument("-q", "--quiet", action="store_true", help="only names")
    ls.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="dangling=true|false, driver=, label=KEY[=VALUE], name=")
    ls.add_argument("--format", help="'json' or a template like '{{.Name}}'")
    ls.set_defaults(func=cmd_ls)

    inspect = verbs.add_parser("inspect", help="show volumes in detail")
    inspect.add_argument("-f", "--format", help="template like '{{.Mountpoint}}'")
    inspect.add_argument("volumes", nargs="+", metavar="VOLUME")
    inspect.set_defaults(func=cmd_inspect)

    rm = verbs.add_parser("rm", aliases=["remove"], help="remove volumes no container uses")
    rm.add_argument("-f", "--force", action="store_true",
                    help="no error for a volume that does not exist (a volume a container "
                         "uses is never removed)")
    rm.add_argument("volumes", nargs="+", metavar="VOLUME")
    rm.set_defaults(func=cmd_rm)

    prune = verbs.add_parser("prune", help="remove unused anonymous volumes")
    prune.add_argument("-a", "--all", action="store_true",
                       help="every unused volume, named ones too")
    prune.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                       help="label=KEY[=VALUE], label!=KEY[=VALUE]")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask")
    prune.set_defaults(func=cmd_prune)


def _pairs(values: list[str], what: str) -> dict:
    from runtime.errors import InvalidArgument
    pairs = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid {what} {value!r}: expected KEY=VALUE")
        pairs[key] = text
    return pairs


def cmd_create(args) -> int:
    volume = engine_for(args).volume_create(args.name, labels=_pairs(args.label, "label"),
                                            driver_opts=_pairs(args.opt, "option"),
                                            driver=args.driver)
    write(volume["Name"] + "\n")
    return 0


def cmd_ls(args) -> int:
    volumes = engine_for(args).volumes(args.filter)
    if args.quiet:
        write("".join(volume["Name"] + "\n" for volume in volumes))
    else:
        from runtime.cli.rows import VolumeRow
        print_rows(args.format, [VolumeRow(volume) for volume in volumes], VolumeRow)
    return 0


def cmd_inspect(args) -> int:
    from runtime.errors import MoorError
    engine, documents, failed = engine_for(args), [], False
    for name in args.volumes:
        try:
            documents.append(engine.volume_inspect(name))
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
    if args.format:
        failed = not print_documents(args.format, documents) or failed
    else:
        write(json.dumps(documents, indent=4) + "\n")
    return 1 if failed else 0


def cmd_rm(args) -> int:
    from runtime.errors import MoorError
    engine, failed = engine_for(args), False
    for name in args.volumes:
        try:
            engine.volume_remove(name, force=args.force)
            write(name + "\n")
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
    return 1 if failed else 0


def cmd_prune(args) -> int:
    from runtime.cli.containers import confirm
    from runtime.cli.disk_usage import human_size
    question = ("WARNING! This will remove all local volumes not used by at least one "
                "container." if args.all else
                "WARNING! This will remove anonymous local volumes not used by at least one "
                "container.")
    if not confirm(question + "\nAre you sure you want to continue?", args.force):
        return 0
    filters = list(args.filter) + (["all=true"] if args.all else [])
    report = engine_for(args).volume_prune(filters)
    if report["VolumesDeleted"]:
        write("Deleted Volumes:\n" + "".join(name + "\n" for name in report["VolumesDeleted"])
              + "\n")
    write(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}\n")
    return 0
