"""`moor` verbs for images: images (image ls), rmi (image rm), tag, history, image inspect,
image prune, image bootstrap."""

import json
import sys

from runtime.cli.output import engine_for, short_id, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}' (with column "
                 "titles), 'json'")
HISTORY_FORMAT_HELP = ("Go template as in Docker: 'table {{.ID}}\\t{{.CreatedBy}}', 'json'; "
                       "fields: .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment")
INSPECT_FORMAT_HELP = "Go template over each image's JSON, as in Docker: '{{.Id}}', or 'json'"


def args_images(parser):
    parser.add_argument("-a", "--all", action="store_true", help="show intermediate images")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID "
                        ".Repository .Tag .Digest .CreatedSince .CreatedAt .Size .Containers")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def args_rmi(parser):
    parser.add_argument("-f", "--force", action="store_true", help="force removal")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def args_tag(parser):
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def args_history(parser):
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("-H", "--human", default="true", choices=("true", "false"),
                        help="human readable sizes and dates (default true)")
    parser.add_argument("--format", default=None, help=HISTORY_FORMAT_HELP)
    parser.add_argument("image", metavar="IMAGE")


def args_image_inspect(parser):
    parser.add_argument("-f", "--format", default=None, help=INSPECT_FORMAT_HELP)
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def args_prune(parser):
    parser.add_argument("-a", "--all", action="store_true",
                        help="every image no container uses, not only dangling ones")
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


def args_bootstrap(parser):
    parser.add_argument("name", choices=("busybox",), help="the image to make")
    parser.add_argument("--tag", default="busybox:latest", help="reference to tag it as")


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


def cmd_prune(args) -> int:
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
    image_id = engine.bootstrap_busybox(args.tag)
    write(f"{args.tag}: {image_id}\n")
    return 0
