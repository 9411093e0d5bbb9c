"""`moor` verbs for images: images, rmi, tag, history, import, export, save, load, commit,
diff, cp, and `moor image ...` (bootstrap, ls, rm, inspect, history, tag)."""

import json
import sys

from runtime.cli.output import engine_for, short_id, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}' (with column "
                 "titles), 'json'")
HISTORY_FORMAT_HELP = ("Go template as in Docker: 'table {{.ID}}\\t{{.CreatedBy}}', 'json'; "
                       "fields: .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment")
INSPECT_FORMAT_HELP = "Go template over each image's JSON, as in Docker: '{{.Id}}', or 'json'"


def register(subparsers):
    images = subparsers.add_parser("images", help="list images")
    _images_flags(images)
    images.set_defaults(func=cmd_images)

    rmi = subparsers.add_parser("rmi", help="remove images")
    rmi.add_argument("-f", "--force", action="store_true", help="force removal")
    rmi.add_argument("images", nargs="+", metavar="IMAGE")
    rmi.set_defaults(func=cmd_rmi)

    tag = subparsers.add_parser("tag", help="create a tag TARGET that refers to SOURCE")
    tag.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    tag.add_argument("target", metavar="TARGET_IMAGE[:TAG]")
    tag.set_defaults(func=cmd_tag)

    history = subparsers.add_parser("history", help="show the history of an image")
    history.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    history.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    history.add_argument("-H", "--human", default="true", choices=("true", "false"),
                         help="human readable sizes and dates (default true)")
    history.add_argument("--format", default=None, help=HISTORY_FORMAT_HELP)
    history.add_argument("image", metavar="IMAGE")
    history.set_defaults(func=cmd_history)

    image = subparsers.add_parser("image", help="manage images (bootstrap, ls, rm, ...)")
    from runtime.cli import Parser
    verbs = image.add_subparsers(title="image commands", metavar="COMMAND",
                                 parser_class=Parser)
    bootstrap = verbs.add_parser(
        "bootstrap", help="make a base image without a registry: busybox (from the "
                          "distribution's busybox-static) or debian (with mmdebstrap)")
    bootstrap.add_argument("name", choices=("busybox", "debian"), help="the image to make")
    bootstrap.add_argument("-t", "--tag", default=None, metavar="NAME[:TAG]",
                           help="reference to tag it as (busybox:latest, debian:SUITE)")
    debian = bootstrap.add_argument_group("debian")
    debian.add_argument("--suite", help="the Debian release (default: the host's own)")
    debian.add_argument("--variant", help="mmdebstrap's package set (default: minbase)")
    debian.add_argument("--include", action="append", default=[], metavar="PKG,PKG...",
                        help="more packages to install")
    debian.add_argument("--mirror", metavar="URL",
                        help="take the packages from this mirror (`deb URL SUITE main`) "
                             "instead of the host's apt sources")
    debian.add_argument("--keyring", metavar="FILE",
                        help="the keyring that signs --mirror (copied into the image)")
    debian.add_argument("--source", action="append", default=[], metavar="LINE",
                        help="a sources.list line to use instead of the host's apt sources "
                             "(may be given more than once)")
    bootstrap.set_defaults(func=cmd_bootstrap)
    listing = verbs.add_parser("ls", help="list images")
    _images_flags(listing)
    listing.set_defaults(func=cmd_images)
    remove = verbs.add_parser("rm", help="remove images")
    remove.add_argument("-f", "--force", action="store_true")
    remove.add_argument("images", nargs="+", metavar="IMAGE")
    remove.set_defaults(func=cmd_rmi)
    inspect = verbs.add_parser("inspect", help="image details as JSON")
    inspect.add_argument("-f", "--format", default=None, help=INSPECT_FORMAT_HELP)
    inspect.add_argument("images", nargs="+", metavar="IMAGE")
    inspect.set_defaults(func=cmd_image_inspect)
    image_history = verbs.add_parser("history", help="show the history of an image")
    image_history.add_argument("--no-trunc", action="store_true")
    image_history.add_argument("-q", "--quiet", action="store_true")
    image_history.add_argument("-H", "--human", default="true", choices=("true", "false"))
    image_history.add_argument("--format", default=None, help=HISTORY_FORMAT_HELP)
    image_history.add_argument("image", metavar="IMAGE")
    image_history.set_defaults(func=cmd_history)
    prune = verbs.add_parser("prune", help="remove unused images")
    prune.add_argument("-a", "--all", action="store_true",
                       help="every image no container uses, not only dangling ones")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask")
    prune.set_defaults(func=cmd_image_prune)
    image_tag = verbs.add_parser("tag", help="tag an image")
    image_tag.add_argument("source")
    image_tag.add_argument("target")
    image_tag.set_defaults(func=cmd_tag)

    from runtime.cli import files
    files.register(subparsers)


def _images_flags(parser):
    parser.add_argument("-a", "--all", action="store_true", help="show intermediate images")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID "
                        ".Repository .Tag .Digest .CreatedSince .CreatedAt .Size .Containers")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def cmd_images(args) -> int:
    engine = engine_for(args)
    rows = []
    for image in engine.images(all=args.all):
        tags = image["RepoTags"] or ["<none>:<none>"]
        for tag in tags:
            repository, _, version = tag.rpartition(":")
            if args.repository:
                wanted, _, wanted_tag = args.repository.partition(":")
                if repository != wanted or (wanted_tag and version != wanted_tag):
                    continue
            rows.append((repository, version, image))
    if args.quiet:
        seen = []
        for _, _, image in rows:
            identifier = image["Id"] if args.no_trunc else short_id(image["Id"])
            if identifier not in seen:
                seen.append(identifier)
        write("".join(i + "\n" for i in seen))
        return 0
    from runtime.cli.output import print_rows
    from runtime.cli.rows import ImageRow
    print_rows(args.format, [ImageRow(image, repository, tag, trunc=not args.no_trunc)
                             for repository, tag, image in rows], ImageRow)
    return 0


def cmd_rmi(args) -> int:
    from runtime.errors import MoorError
    engine = engine_for(args)
    failed = False
    for ref in args.images:
        try:
            events = engine.remove_image(ref, force=args.force)
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
            continue
        for event in events:
            for key, value in event.items():
                write(f"{key}: {value}\n")
    return 1 if failed else 0


def cmd_tag(args) -> int:
    engine_for(args).tag(args.source, args.target)
    return 0


def cmd_history(args) -> int:
    engine = engine_for(args)
    rows = engine.history(args.image)
    if args.quiet:
        write("".join((r["Id"] if args.no_trunc or r["Id"] == "<missing>" else
                       short_id(r["Id"])) + "\n" for r in rows))
        return 0
    from runtime.cli.output import print_rows
    from runtime.cli.rows import HistoryRow
    human = args.human == "true"
    format_text = args.format
    if not format_text or format_text == "table":
        format_text = HistoryRow.DEFAULT if human else HistoryRow.DEFAULT_NOT_HUMAN
    print_rows(format_text, [HistoryRow(row, trunc=not args.no_trunc, human=human)
                             for row in rows], HistoryRow)
    return 0


def cmd_image_inspect(args) -> int:
    engine = engine_for(args)
    documents = [engine.image_inspect(ref) for ref in args.images]
    if args.format:
        from runtime.cli.output import print_documents
        return 0 if print_documents(args.format, documents) else 1
    write(json.dumps(documents, indent=4) + "\n")
    return 0


def cmd_image_prune(args) -> int:
    from runtime.cli.containers import confirm
    what = "all images without at least one container associated to them" if args.all \
        else "all dangling images"
    if not confirm(f"WARNING! This will remove {what}. Are you sure you want to continue?",
                   args.force):
        return 0
    events = engine_for(args).prune_images(all=args.all)
    if events:
        write("Deleted Images:\n" + "".join(
            f"{key.lower()}: {value}\n" for event in events for key, value in event.items()))
    else:
        write("Total reclaimed space: 0B\n")
    return 0


def cmd_bootstrap(args) -> int:
    engine = engine_for(args)
    if args.name == "busybox":
        given = [flag for flag, value in (("--suite", args.suite), ("--variant", args.variant),
                                          ("--include", args.include),
                                          ("--mirror", args.mirror),
                                          ("--keyring", args.keyring),
                                          ("--source", args.source)) if value]
        if given:
            from runtime.errors import InvalidArgument
            raise InvalidArgument(f"{given[0]} is for moor image bootstrap debian")
        tag = args.tag or "busybox:latest"
        image_id = engine.bootstrap_busybox(tag)
    else:
        # progress on a terminal, nothing but the result otherwise
        progress = sys.stderr.write if sys.stderr.isatty() else None
        image_id = engine.bootstrap_debian(
            suite=args.suite, include=args.include, reference=args.tag, variant=args.variant,
            mirror=args.mirror, keyring=args.keyring, sources=args.source, progress=progress)
        from runtime.image import debian
        tag = args.tag or f"debian:{args.suite or debian.default_suite()}"
    write(f"{tag}: {image_id}\n")
    return 0
