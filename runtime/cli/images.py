"""`moor` verbs for images: images, rmi, tag, history, import, export, save, load, commit,
diff, cp, and `moor image ...` (bootstrap, ls, rm, inspect, history, tag)."""

import json
import sys
import time

from runtime.cli.output import engine_for, print_table, short_id, template, write


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
    history.add_argument("image", metavar="IMAGE")
    history.set_defaults(func=cmd_history)

    image = subparsers.add_parser("image", help="manage images (bootstrap, ls, rm, ...)")
    from runtime.cli import Parser
    verbs = image.add_subparsers(title="image commands", metavar="COMMAND",
                                 parser_class=Parser)
    bootstrap = verbs.add_parser("bootstrap", help="make the offline base image from the "
                                                   "distribution's busybox-static")
    bootstrap.add_argument("name", choices=("busybox",), help="the image to make")
    bootstrap.add_argument("--tag", default="busybox:latest", help="reference to tag it as")
    bootstrap.set_defaults(func=cmd_bootstrap)
    listing = verbs.add_parser("ls", help="list images")
    _images_flags(listing)
    listing.set_defaults(func=cmd_images)
    remove = verbs.add_parser("rm", help="remove images")
    remove.add_argument("-f", "--force", action="store_true")
    remove.add_argument("images", nargs="+", metavar="IMAGE")
    remove.set_defaults(func=cmd_rmi)
    inspect = verbs.add_parser("inspect", help="image details as JSON")
    inspect.add_argument("-f", "--format", default=None)
    inspect.add_argument("images", nargs="+", metavar="IMAGE")
    inspect.set_defaults(func=cmd_image_inspect)
    image_history = verbs.add_parser("history", help="show the history of an image")
    image_history.add_argument("--no-trunc", action="store_true")
    image_history.add_argument("-q", "--quiet", action="store_true")
    image_history.add_argument("-H", "--human", default="true", choices=("true", "false"))
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
    parser.add_argument("--format", default=None, help="'json' or a template")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def _ago(seconds: float) -> str:
    from runtime.container.inspect import human_duration
    return human_duration(time.time() - seconds) + " ago"


def _size(value: int) -> str:
    """Docker prints image sizes in decimal units."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}" if unit != "B" else f"{value}B"
        value /= 1000.0
    return str(value)


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
    views = [{"Repository": r, "Tag": t,
              "ID": i["Id"] if args.no_trunc else short_id(i["Id"]),
              "CreatedSince": _ago(i["Created"]),
              "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(i["Created"])),
              "Size": _size(i["Size"])} for r, t, i in rows]
    if args.format == "json":
        write("".join(json.dumps(v) + "\n" for v in views))
    elif args.format:
        write("".join(template(args.format, v) + "\n" for v in views))
    else:
        print_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                    [[v["Repository"], v["Tag"], v["ID"], v["CreatedSince"], v["Size"]]
                     for v in views])
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
    table = []
    for row in rows:
        created_by = row["CreatedBy"]
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        identifier = row["Id"] if (args.no_trunc or row["Id"] == "<missing>") \
            else short_id(row["Id"])
        human = args.human == "true"
        table.append([identifier,
                      _ago(row["Created"]) if human else time.strftime(
                          "%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["Created"])),
                      created_by, _size(row["Size"]) if human else str(row["Size"]),
                      row["Comment"]])
    print_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], table)
    return 0


def cmd_image_inspect(args) -> int:
    engine = engine_for(args)
    documents = [engine.image_inspect(ref) for ref in args.images]
    if args.format:
        write("".join(template(args.format, d) + "\n" for d in documents))
    else:
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
    image_id = engine.bootstrap_busybox(args.tag)
    write(f"{args.tag}: {image_id}\n")
    return 0
