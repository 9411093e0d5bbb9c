"""`moor` verbs that move files and images: cp, diff, commit, export, import, save, load."""

import os
import sys

from runtime.cli.output import engine_for, write


def args_cp(parser):
    parser.description = ("moor cp CONTAINER:SRC_PATH DEST_PATH|- | moor cp SRC_PATH|- "
                          "CONTAINER:DEST_PATH. With -, a tar stream goes to standard output, "
                          "or comes from standard input and is unpacked into the directory "
                          "DEST_PATH.")
    parser.add_argument("-a", "--archive", action="store_true",
                        help="keep the owners (uid:gid) of the copied files")
    parser.add_argument("source", metavar="SRC")
    parser.add_argument("destination", metavar="DEST")


def args_diff(parser):
    parser.add_argument("container", metavar="CONTAINER")


def args_commit(parser):
    parser.add_argument("-m", "--message", help="commit message")
    parser.add_argument("-a", "--author", help='author (e.g. "Jane <jane@example.com>")')
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, "
                             "LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")
    parser.add_argument("-p", "--pause", default="true", choices=("true", "false"),
                        help="pause the container while committing (default true)")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def args_export(parser):
    parser.add_argument("-o", "--output", help="write to a file instead of standard output")
    parser.add_argument("container", metavar="CONTAINER")


def args_import(parser):
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="apply a Dockerfile instruction to the image")
    parser.add_argument("-m", "--message", help="commit message for the image")
    parser.add_argument("file", metavar="FILE|-")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def args_save(parser):
    parser.add_argument("-o", "--output", help="write to a file instead of standard output")
    parser.add_argument("--format", default="docker-archive",
                        choices=("docker-archive", "oci-archive"),
                        help="docker-archive (default: Docker's, an OCI layout with "
                             "manifest.json) or oci-archive (the OCI layout alone, as podman "
                             "and skopeo write it)")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def args_load(parser):
    parser.add_argument("-i", "--input", metavar="FILE|DIRECTORY",
                        help="read a Docker or OCI archive (tar, gzip, bzip2, xz, zstd) from "
                             "a file, or an OCI layout directory, instead of standard input")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not list the images")


def cmd_cp(args) -> int:
    from runtime.container import copy
    from runtime.errors import InvalidArgument
    engine = engine_for(args)
    source_container, source = copy.split_target(args.source)
    target_container, target = copy.split_target(args.destination)
    if bool(source_container) == bool(target_container):
        raise InvalidArgument("copying between containers or between two host paths is not "
                              "supported: one side must be CONTAINER:PATH")
    if source_container and target == "-":
        copy.copy_from_container_as_tar(engine, engine.container(source_container), source,
                                        sys.stdout.buffer)
    elif source_container:
        copy.copy_from_container(engine, engine.container(source_container), source, target)
    elif source == "-":
        copy.copy_tar_to_container(engine, engine.container(target_container), sys.stdin.buffer,
                                   target, archive=args.archive)
    else:
        copy.copy_to_container(engine, engine.container(target_container), source, target,
                               archive=args.archive)
    return 0


def cmd_diff(args) -> int:
    from runtime.image import commit
    engine = engine_for(args)
    container = engine.container(args.container)
    write("".join(f"{kind} {path}\n" for kind, path, _ in commit.diff(engine, container)))
    return 0


def cmd_commit(args) -> int:
    from runtime.image import commit
    engine = engine_for(args)
    container = engine.container(args.container)
    image_id = commit.commit(engine, container, args.repository, message=args.message,
                             author=args.author, changes=args.change,
                             pause=args.pause == "true")
    write(image_id + "\n")
    return 0


def _output(path):
    if path:
        return open(path, "wb")
    if sys.stdout.isatty():
        from runtime.errors import InvalidArgument
        raise InvalidArgument("refusing to write a tar archive to a terminal: redirect "
                              "standard output or use -o FILE")
    return sys.stdout.buffer


def cmd_export(args) -> int:
    from runtime.image import archive
    engine = engine_for(args)
    container = engine.container(args.container)
    out = _output(args.output)
    try:
        archive.export(engine, container, out)
        out.flush()
    finally:
        if args.output:
            out.close()
    return 0


def cmd_import(args) -> int:
    from runtime.errors import InvalidArgument
    from runtime.image import archive
    engine = engine_for(args)
    if args.file == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(args.file, "rb")
        except OSError as error:
            raise InvalidArgument(f"cannot open {args.file}: {error.strerror}") from None
    try:
        image_id = archive.import_tar(engine, stream, args.repository, args.message,
                                      args.change)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    write(image_id + "\n")
    return 0


def cmd_save(args) -> int:
    from runtime.image import archive
    engine = engine_for(args)
    for ref in args.images:
        engine.image_id(ref)  # fail before writing anything
    out = _output(args.output)
    try:
        archive.save(engine, args.images, out, format=args.format)
        out.flush()
    finally:
        if args.output:
            out.close()
    return 0


def cmd_load(args) -> int:
    from runtime.errors import InvalidArgument
    from runtime.image import archive
    engine = engine_for(args)
    if args.input and os.path.isdir(args.input):
        lines = archive.load(engine, args.input)       # an OCI layout directory
        if not args.quiet:
            write("".join(line + "\n" for line in lines))
        return 0
    if args.input:
        try:
            stream = open(args.input, "rb")
        except OSError as error:
            raise InvalidArgument(f"cannot open {args.input}: {error.strerror}") from None
    else:
        if sys.stdin.isatty():
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        stream = sys.stdin.buffer
    try:
        lines = archive.load(engine, stream)
    finally:
        if args.input:
            stream.close()
    if not args.quiet:
        write("".join(line + "\n" for line in lines))
    return 0
