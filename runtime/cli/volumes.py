"""`moor volume create|ls|inspect|rm|prune`, with Docker's flags and output."""

from runtime.cli.output import engine_for, inspect_each, key_values, print_rows, remove_each, write


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


def cmd_create(args) -> int:
    volume = engine_for(args).volume_create(args.name, labels=key_values(args.label, "label"),
                                            driver_opts=key_values(args.opt, "option"),
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
    return inspect_each(args.volumes, engine_for(args).volume_inspect, args.format)


def cmd_rm(args) -> int:
    engine = engine_for(args)
    return remove_each(args.volumes, lambda name: engine.volume_remove(name, force=args.force))


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
