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
    parser.add_argument("--digests", action="store_true", help="show digests")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="dangling=true|false, reference=PATTERN (busy*, team/*:1), "
                             "label=KEY[=VALUE], before=IMAGE, since=IMAGE")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID "
                        ".Repository .Tag .Digest .CreatedSince .CreatedAt .Size .Containers")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]",
                        help="only the images of this name (a reference= filter)")


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
    parser.description = ("Make a base image without a registry: busybox (from the "
                          "distribution's busybox-static) or debian (with mmdebstrap).")
    parser.add_argument("name", choices=("busybox", "debian"), help="the image to make")
    parser.add_argument("-t", "--tag", default=None, metavar="NAME[:TAG]",
                        help="reference to tag it as (busybox:latest, debian:SUITE)")
    debian = parser.add_argument_group("debian")
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


def cmd_images(args) -> int:
    from runtime.cli import filters
    engine = engine_for(args)
    wanted = filters.parse(args.filter)
    if args.repository:
        wanted.setdefault("reference", []).append(args.repository)
    images = engine.images(all=args.all, filters=wanted)
    if args.quiet:
        seen = []
        for image in images:
            identifier = image["Id"] if args.no_trunc else short_id(image["Id"])
            if identifier not in seen:
                seen.append(identifier)
        write("".join(i + "\n" for i in seen))
        return 0
    from runtime.cli.output import print_rows
    from runtime.cli.rows import ImageRow
    format_text = args.format
    if args.digests and (not format_text or format_text in ("table", "raw")):
        format_text = ImageRow.RAW_WITH_DIGEST if format_text == "raw" else \
            ImageRow.DEFAULT_WITH_DIGEST
    elif args.digests and format_text.startswith("table") and "{{.Digest}}" not in format_text:
        format_text += "\t{{.Digest}}"
    digests = args.digests or "{{.Digest}}" in (format_text or "")
    print_rows(format_text, [ImageRow(image, repository, tag, trunc=not args.no_trunc,
                                      digest=digest)
                             for image in images
                             for repository, tag, digest in image_rows(image, digests,
                                                                       args.digests)],
               ImageRow)
    return 0


def image_rows(image: dict, digests: bool, digest_rows: bool) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) of each row `images` prints for an image, as Docker's
    formatter: a row per tag (per tag and digest of its repository when digests are
    shown), then the repositories it has only digests in; `<none>` for a dangling one."""
    from runtime.image.listing import repository_of
    if not image["RepoTags"] and not image["RepoDigests"]:
        return [("<none>", "<none>", "<none>")]
    tags: dict[str, list[str]] = {}
    for name in image["RepoTags"]:
        tags.setdefault(repository_of(name), []).append(name.rpartition(":")[2])
    by_repository: dict[str, list[str]] = {}
    for name in image["RepoDigests"]:
        by_repository.setdefault(repository_of(name), []).append(name.partition("@")[2])
    rows = []
    for repository, names in tags.items():
        found = by_repository.pop(repository, [])     # shown with the tags, if at all
        shown = found if digests else []
        for tag in names:
            rows.extend((repository, tag, digest) for digest in shown or ["<none>"])
    for repository, found in by_repository.items():
        rows.extend([(repository, "<none>", digest) for digest in found] if digest_rows
                    else [(repository, "<none>", "")])
    return rows


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
    from runtime.cli.output import confirm
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
