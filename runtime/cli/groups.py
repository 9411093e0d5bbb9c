"""`moor group set|ls|inspect|rm`: groups of containers whose memory, CPUs and PIDs together
the kernel holds to limits (runtime.container.groups); `moor run --group NAME` puts a
container in one. Containers in a group share its limits, which the kernel enforces on the
group as a whole whatever each container asks."""

import json
import sys

from runtime.cli.output import engine_for, print_documents, print_rows, write


def args_set(parser):
    parser.description = ("Create the group NAME or change its limits, at once for its "
                          "running containers. The limits are exactly those given: a limit "
                          "left out is none.")
    parser.add_argument("-m", "--memory", help="memory (RAM) of the whole group, e.g. 128m")
    parser.add_argument("--cpus", help="CPUs of the whole group, e.g. 1.5")
    parser.add_argument("--pids-limit", help="processes of the whole group")
    parser.add_argument("name", metavar="NAME")


def args_ls(parser):
    parser.add_argument("-q", "--quiet", action="store_true", help="only names")
    parser.add_argument("--format", help="'json' or a Go template like "
                                         "'{{.Name}} {{.Memory}}'; fields: .Name .Memory "
                                         ".CPUs .PIDs .Containers .CreatedAt")


def args_inspect(parser):
    parser.add_argument("-f", "--format", help="Go template like '{{.Usage.Memory.Current}}'")
    parser.add_argument("names", nargs="+", metavar="NAME")


def args_rm(parser):
    parser.add_argument("names", nargs="+", metavar="NAME")


def cmd_set(args) -> int:
    record = engine_for(args).group_set(args.name, memory=args.memory, cpus=args.cpus,
                                        pids=args.pids_limit)
    write(record["Name"] + "\n")
    return 0


def cmd_ls(args) -> int:
    groups = engine_for(args).groups()
    if args.quiet:
        write("".join(group["Name"] + "\n" for group in groups))
        return 0
    from runtime.cli.rows import GroupRow
    print_rows(args.format, [GroupRow(group) for group in groups], GroupRow)
    return 0


def cmd_inspect(args) -> int:
    from runtime.errors import MoorError
    engine, documents, failed = engine_for(args), [], False
    for name in args.names:
        try:
            documents.append(engine.group_inspect(name))
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
    for name in args.names:
        try:
            engine.group_remove(name)
            write(name + "\n")
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
    return 1 if failed else 0
