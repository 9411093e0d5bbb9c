"""`moor volume create|ls|inspect|rm|prune`, with Docker's flags and output."""

import json
import sys

from runtime.cli.output import engine_for, print_documents, print_rows, write


def args_create(parser):
    parser.add_argument("-d", "--driver", default="local", help="only local")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="set metadata on the volume")
    parser.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="driver options (the local driver of this engine takes none)")
    parser.add_argument("name", nargs="?", metavar="VOLUME",
                        help="a name (default: an anonymous 64-hex one)")


def args_ls(parser):
    parser.add_argument("-q", "--quiet", action="store_true", help="only names")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="dangling=true|false, driver=, label=KEY[=VALUE], name=")
    parser.add_argument("--format", help="'json' or a Go template like '{{.Name}}'; fields: "
                                         ".Name .Driver .Scope .Mountpoint .Labels .Label "
                                         ".Links .Size")


def args_inspect(parser):
    parser.add_argument("-f", "--format", help="Go template like '{{.Mountpoint}}'")
    parser.add_argument("volumes", nargs="+", metavar="VOLUME")


def args_rm(parser):
    parser.add_argument("-f", "--force", action="store_true",
                        help="no error for a volume that does not exist (a volume a container "
                             "uses is never removed)")
    parser.add_argument("volumes", nargs="+", metavar="VOLUME")


def args_prune(parser):
    parser.add_argument("-a", "--all", action="store_true",
                        help="every unused volume, named ones too")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="label=KEY[=VALUE], label!=KEY[=VALUE]")
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


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
    from runtime.cli.disk_usage import human_size
    from runtime.cli.output import confirm
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
