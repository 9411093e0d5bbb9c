"""`moor group set|ls|inspect|rm`: groups of containers whose memory, CPUs and PIDs together
the kernel holds to limits (runtime.container.groups); `moor run --group NAME` puts a
container in one."""

import json
import sys

from runtime.cli.output import engine_for, print_documents, print_rows, write


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
    from runtime.cli import Parser
    group = subparsers.add_parser(
        "group", help="manage groups of containers with shared limits",
        description="Manage groups: containers in a group share its memory, CPU and PIDs "
                    "limits, which the kernel enforces on the group as a whole whatever each "
                    "container asks. Put a container in one with `moor run --group NAME`.")
    verbs = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    group.set_defaults(func=lambda args: group.print_help() or 0)

    set_ = verbs.add_parser(
        "set", help="create a group or change its limits",
        description="Create the group NAME or change its limits, at once for its running "
                    "containers. The limits are exactly those given: a limit left out is "
                    "none.")
    set_.add_argument("-m", "--memory", help="memory (RAM) of the whole group, e.g. 128m")
    set_.add_argument("--cpus", help="CPUs of the whole group, e.g. 1.5")
    set_.add_argument("--pids-limit", help="processes of the whole group")
    set_.add_argument("name", metavar="NAME")
    set_.set_defaults(func=cmd_set)

    ls = verbs.add_parser("ls", aliases=["list"], help="list groups")
    ls.add_argument("-q", "--quiet", action="store_true", help="only names")
    ls.add_argument("--format", help="'json' or a template like '{{.Name}} {{.Memory}}'")
    ls.set_defaults(func=cmd_ls)

    inspect = verbs.add_parser("inspect", help="show groups' limits and what they use now")
    inspect.add_argument("-f", "--format", help="template like '{{.Usage.Memory.Current}}'")
    inspect.add_argument("names", nargs="+", metavar="NAME")
    inspect.set_defaults(func=cmd_inspect)

    rm = verbs.add_parser("rm", aliases=["remove"], help="remove groups no container is in")
    rm.add_argument("names", nargs="+", metavar="NAME")
    rm.set_defaults(func=cmd_rm)


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
