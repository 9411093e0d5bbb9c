"""`moor`: the engine's command line, with Docker's verbs, flags and output shapes.

`COMMANDS` below is the one table of every verb, as crun's `commands[]`: its name, the module
of this package that implements it, its one-line help, and (for a group such as `container`
or `image`) its own verbs. A verb's module has two functions named after the verb's `key`
(its name unless the table says otherwise): `args_<key>(parser)` adds its flags and
arguments, `cmd_<key>(args) -> int` runs it by calling the engine and printing. The object
verbs Docker has (`container ls`, `image rm`...) are rows of the same table pointing at the
same functions.

Only the verb typed is built and only its module is imported: `moor --help` lists the
verbs from the table alone, and a command line starts in a few milliseconds, which is part
of the product.
"""

import gettext
import os
import sys

# argparse passes every help string through gettext, which looks for a message catalogue on
# disk for each one (about 150 lookups per command, 10 ms); moor's messages are English only.
_untranslated = gettext.NullTranslations()
gettext.gettext, gettext.ngettext = _untranslated.gettext, _untranslated.ngettext

import argparse  # noqa: E402  (after the gettext shortcut above, which it binds at import)

from runtime.errors import MoorError  # noqa: E402


class Verb:
    """One row of the table: `module` is a module of runtime.cli, `key` names its functions
    (`args_<key>`, `cmd_<key>`; default: the name), `verbs` makes it a group of verbs.
    (A plain class: typing's NamedTuple alone would add 5 ms to every command.)"""
    __slots__ = ("name", "module", "help", "key", "aliases", "verbs", "hidden")

    def __init__(self, name: str, module: str, help: str, key: str = "",
                 aliases: tuple = (), verbs: tuple = (), hidden: bool = False):
        self.name, self.module, self.help, self.key = name, module, help, key
        self.aliases, self.verbs, self.hidden = aliases, verbs, hidden

    def __repr__(self):
        return f"Verb({self.name!r})"

    def but(self, **changes) -> "Verb":
        """This verb with some fields changed."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        return Verb(**{**fields, **changes})

    @property
    def function_key(self) -> str:
        return (self.key or self.name).replace("-", "_")


def _group(name: str, help: str, *verbs: Verb) -> Verb:
    return Verb(name, "", help, verbs=verbs)


CONTAINER = (
    Verb("attach", "interactive", "attach your terminal to a running container's main process"),
    Verb("commit", "files", "create a new image from a container"),
    Verb("cp", "files", "copy files between a container and the host"),
    Verb("create", "containers", "create a container without starting it"),
    Verb("diff", "files", "files changed in a container's file system"),
    Verb("exec", "interactive", "run a command in a running container"),
    Verb("export", "files", "a container's file system as a tar archive"),
    Verb("inspect", "containers", "low-level information on containers, as JSON",
         key="container_inspect"),
    Verb("kill", "containers", "send a signal to running containers"),
    Verb("logs", "containers", "fetch a container's logs"),
    Verb("ls", "ps", "list containers", key="ps", aliases=("ps", "list")),
    Verb("pause", "containers", "pause all processes in containers"),
    Verb("port", "network", "list a container's published ports"),
    Verb("prune", "containers", "remove all stopped containers"),
    Verb("rename", "containers", "rename a container"),
    Verb("restart", "containers", "restart containers"),
    Verb("rm", "containers", "remove containers", aliases=("remove",)),
    Verb("run", "containers", "create and start a container"),
    Verb("start", "containers", "start one or more stopped containers"),
    Verb("stats", "containers", "resource usage of containers"),
    Verb("stop", "containers", "stop running containers (SIGTERM, then SIGKILL)"),
    Verb("top", "containers", "the running processes of a container"),
    Verb("unpause", "containers", "unpause containers"),
    Verb("update", "containers", "change the limits and restart policy of containers"),
    Verb("wait", "containers", "wait for containers to stop, print exit codes"),
)

IMAGE = (
    Verb("bootstrap", "images", "make the offline base image from the distribution's "
                                "busybox-static"),
    Verb("build", "build", "build an image from a Dockerfile"),
    Verb("history", "images", "show the history of an image"),
    Verb("import", "files", "create an image from a file system tar"),
    Verb("inspect", "images", "image details as JSON", key="image_inspect"),
    Verb("load", "files", "load images from a tar archive or an OCI layout"),
    Verb("ls", "images", "list images", key="images", aliases=("list",)),
    Verb("prune", "images", "remove unused images"),
    Verb("pull", "registry", "download an image from a registry"),
    Verb("push", "registry", "upload an image to a registry"),
    Verb("rm", "images", "remove images", key="rmi", aliases=("remove",)),
    Verb("save", "files", "save images to a tar archive"),
    Verb("tag", "images", "create a tag TARGET that refers to SOURCE"),
)

NETWORK = (
    Verb("connect", "network", "connect a running container to a network"),
    Verb("create", "network", "create a network"),
    Verb("disconnect", "network", "disconnect a container from a network"),
    Verb("inspect", "network", "show networks in detail"),
    Verb("ls", "network", "list networks", aliases=("list",)),
    Verb("prune", "network", "remove all networks no container uses"),
    Verb("rm", "network", "remove networks", aliases=("remove",)),
)

BUILDER = (
    Verb("build", "build", "build an image from a Dockerfile"),
    Verb("prune", "build", "remove the build cache: the step images of builds no name and "
                           "no container holds"),
)

SYSTEM = (
    Verb("boot", "system", "after a reboot or an engine restart: record what ended, clean "
                           "up, and start containers whose restart policy asks for it"),
    Verb("df", "system", "disk space used by images, containers and the build cache"),
    Verb("gc", "system", "find and remove what crashed containers left behind (mounts, "
                         "cgroups, runtime state, network devices)"),
    Verb("info", "system", "engine-wide information"),
    Verb("prune", "system", "remove stopped containers, unused networks and images, the "
                            "build cache"),
    Verb("reset", "system", "remove all containers, images, networks and state of this "
                            "engine root from the host"),
    # conmon's exit command, not for people: kept out of the help listing.
    Verb("container-exited", "system", "", hidden=True),
)

def _top(group: tuple, verb_name: str, **changes) -> Verb:
    """A group's verb as a top-level verb too (`moor run` is `moor container run`)."""
    return next(verb for verb in group if verb.name == verb_name).but(**changes)


# Every verb of `moor`, in the order `moor --help` lists them: Docker's common commands,
# its management commands (groups), then the others.
COMMANDS = (
    _top(CONTAINER, "run"),
    _top(CONTAINER, "exec"),
    _top(CONTAINER, "ls", name="ps", aliases=()),
    _top(IMAGE, "build"),
    _top(IMAGE, "pull"),
    _top(IMAGE, "push"),
    _top(IMAGE, "ls", name="images", aliases=()),
    Verb("login", "registry", "log in to a registry"),
    Verb("logout", "registry", "log out from a registry"),
    Verb("search", "registry", "search a registry's catalog for repositories"),
    _top(SYSTEM, "info"),
    Verb("version", "system", "show the version"),
    _group("builder", "manage builds (build, prune)", *BUILDER),
    _group("container", "manage containers (ls, rm, inspect, logs, run, prune, ...)",
           *CONTAINER),
    _group("image", "manage images (ls, pull, push, build, rm, prune, bootstrap, ...)", *IMAGE),
    _group("network", "manage networks", *NETWORK),
    _group("system", "manage the engine (df, prune, gc, boot, reset)", *SYSTEM),
    _top(CONTAINER, "attach"),
    _top(CONTAINER, "commit"),
    _top(CONTAINER, "cp"),
    _top(CONTAINER, "create"),
    _top(CONTAINER, "diff"),
    _top(CONTAINER, "export"),
    _top(IMAGE, "history"),
    _top(IMAGE, "import"),
    Verb("inspect", "containers", "low-level information on containers or images, as JSON"),
    _top(CONTAINER, "kill"),
    _top(IMAGE, "load"),
    _top(CONTAINER, "logs"),
    _top(CONTAINER, "pause"),
    _top(CONTAINER, "port"),
    _top(CONTAINER, "rename"),
    _top(CONTAINER, "restart"),
    _top(CONTAINER, "rm", aliases=()),
    _top(IMAGE, "rm", name="rmi", aliases=()),
    _top(IMAGE, "save"),
    _top(CONTAINER, "start"),
    _top(CONTAINER, "stats"),
    _top(CONTAINER, "stop"),
    _top(IMAGE, "tag"),
    _top(CONTAINER, "top"),
    _top(CONTAINER, "unpause"),
    _top(CONTAINER, "update"),
    _top(CONTAINER, "wait"),
)


class Parser(argparse.ArgumentParser):
    """argparse with Docker's error shape: one line on stderr, exit status 125 for bad flags
    (what `docker run` returns when the command line itself is wrong). Options are never
    abbreviated: `--pid` is not `--pids-limit`."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message):
        # COMMAND of run/create is optional (the image's own command runs); argparse lists it
        # among the required arguments all the same.
        message = message.replace("arguments are required: IMAGE, COMMAND",
                                  "argument is required: IMAGE")
        command = self.prog.removeprefix("moor").strip()
        sys.stderr.write(f"moor: {message}\nSee 'moor {command} --help'.\n" if command
                         else f"moor: {message}\nSee 'moor --help'.\n")
        sys.exit(125)


def find(verbs: tuple, name: str | None) -> Verb | None:
    """The verb of `verbs` called `name` or one of its aliases."""
    for verb in verbs:
        if name == verb.name or name in verb.aliases:
            return verb
    return None


def _add_verbs(subparsers, verbs: tuple, chosen: Verb | None,
               words: list[str]) -> Parser | None:
    """Add `verbs` to `subparsers`: only `chosen` with its flags (the rest of the command
    line picking among a group's verbs), or, when none is chosen, every verb with its help
    line alone, for the listing and for argparse's error about an unknown verb. Returns the
    parser of the verb the command line names (a group's verb, when it names one)."""
    for verb in verbs:
        if chosen is not None and verb is not chosen:
            continue
        options = {"aliases": list(verb.aliases)}
        if not verb.hidden:         # without a help line, argparse does not list it
            options["help"] = verb.help
        parser = subparsers.add_parser(verb.name, description=_sentence(verb.help),
                                       add_help=False, **options)
        if chosen is None:
            continue
        if verb.verbs:
            _help_flags(parser)
            return _fill_group(parser, verb, words)
        _fill_verb(parser, verb)
        return parser
    return None


def _fill_verb(parser: Parser, verb: Verb) -> None:
    import importlib
    module = importlib.import_module(f"runtime.cli.{verb.module}")
    add_arguments = getattr(module, f"args_{verb.function_key}")
    _help_flags(parser, getattr(add_arguments, "help_flags", ("-h", "--help")))
    add_arguments(parser)
    parser.set_defaults(func=getattr(module, f"cmd_{verb.function_key}"))


def _help_flags(parser: Parser, flags=("-h", "--help")) -> None:
    parser.add_argument(*flags, action="help", help="show this help message and exit")


def long_help_only(add_arguments):
    """Marks a verb whose help is --help alone, -h being one of its flags (`run -h NAME`
    sets the host name, as in Docker)."""
    add_arguments.help_flags = ("--help",)
    return add_arguments


def _fill_group(parser: Parser, group: Verb, words: list[str]) -> Parser:
    subparsers = parser.add_subparsers(title=f"{group.name} commands", metavar="COMMAND",
                                       parser_class=Parser)
    chosen = find(group.verbs, _first_word(words))
    # `moor network` alone: the group's help, as Docker's.
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    return _add_verbs(subparsers, group.verbs, chosen, words[1:] if chosen else []) or parser


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else None


def build_parser(argv: list[str]) -> Parser:
    """The parser for this command line: `moor` with the verb it names (and, for a group,
    the group's verb it names) built in full; every verb with its help line otherwise."""
    parser = Parser(
        prog="moor",
        description="Moorage's container engine: run, inspect and manage containers and images.",
        epilog="Run 'moor COMMAND --help' for more information on a command. --format takes "
               "a Go template (https://pkg.go.dev/text/template), as Docker's does: "
               "moor ps --format 'table {{.ID}}\\t{{.Names}}'.",
    )
    parser.add_argument(
        "--root", default=os.environ.get("MOORAGE_ROOT"),
        help="engine state directory (default: $MOORAGE_ROOT or /var/lib/moorage)")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND",
                                       parser_class=Parser)
    words = _words(argv)
    chosen = find(COMMANDS, _first_word(words))
    # The parser of the verb typed, which reports the flags it does not know.
    parser.verb_parser = _add_verbs(subparsers, COMMANDS, chosen,
                                    words[1:] if chosen else []) or parser
    return parser


def _words(argv: list[str]) -> list[str]:
    """The command line from the verb on: what follows `moor`'s own options."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--root":
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return argv[index:]
    return []


def _first_word(words: list[str]) -> str | None:
    """The verb a command line names first (`moor image -h` names none)."""
    return words[0] if words and not words[0].startswith("-") else None


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.verb_parser.error(f"unknown flag: {unknown[0]}" if unknown[0].startswith("-")
                                 else f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = args.func(args)
    except MoorError as error:
        sys.stderr.write(f"Error: {error.message}\n")
        return error.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `moor logs | head`: the reader went away; that is not an error of ours.
        from runtime.cli.output import stdout_gone
        stdout_gone()
        return 0
    return status or 0
