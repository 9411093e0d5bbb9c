"""`moor`: the engine's command line, with Docker's verbs, flags and output shapes.

`COMMANDS` below is the one table of every verb, as crun's `commands[]`: its name, the module
of this package that implements it, its one-line help, and (for a group such as `container`
or `image`) its own verbs. A verb's module has two functions named after the verb's `key`
(its name unless the table says otherwise): `args_<key>(parser)` adds its flags and
arguments, `cmd_<key>(args) -> int` runs it by calling the engine and printing. The object
verbs Docker has (`container ls`, `image rm`...) are rows of the same table pointing at the
same functions. A group with options of its own before its verb (`compose -f FILE up`)
names a module too, whose `args_<key>` adds them. Hidden verbs (those the engine runs
itself, such as conmon's exit command) are in the table but in no listing. `moor --help`
lists the verbs in Docker's sections: common commands, management commands (the groups),
and the others.

Only the verb typed is built and only its module is imported: `moor --help` lists the
verbs from the table alone, and a command line starts in a few milliseconds, which is part
of the product.
"""

import gettext
import os
import re
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
    Verb("bootstrap", "images", "make a base image without a registry: busybox (from the "
                                "distribution's busybox-static) or debian (with mmdebstrap)"),
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

VOLUME = (
    Verb("create", "volumes", "create a volume"),
    Verb("inspect", "volumes", "show volumes in detail"),
    Verb("ls", "volumes", "list volumes", aliases=("list",)),
    Verb("prune", "volumes", "remove unused anonymous volumes (with -a, named ones too)"),
    Verb("rm", "volumes", "remove volumes no container uses", aliases=("remove",)),
)

GROUP = (
    Verb("inspect", "groups", "show groups' limits and what they use now"),
    Verb("ls", "groups", "list groups", aliases=("list",)),
    Verb("rm", "groups", "remove groups no container is in", aliases=("remove",)),
    Verb("set", "groups", "create a group or change its limits"),
)

COMPOSE = (
    Verb("build", "compose", "build the services' images"),
    Verb("config", "compose", "the resolved Compose file"),
    Verb("down", "compose", "stop and remove the project's containers and networks"),
    Verb("exec", "compose", "run a command in a service's container"),
    Verb("images", "compose", "the images the project's containers use"),
    Verb("logs", "compose", "the services' output, merged"),
    Verb("ps", "compose", "list the project's containers"),
    Verb("pull", "compose", "pull the services' images"),
    Verb("restart", "compose", "restart the services' containers"),
    Verb("run", "compose", "run a one-off command in a new container of a service"),
    Verb("start", "compose", "start the services' existing containers"),
    Verb("stop", "compose", "stop the services' containers"),
    Verb("top", "compose", "the processes of the services' containers"),
    Verb("up", "compose", "create and start the services' containers"),
)

BUILDER = (
    Verb("build", "build", "build an image from a Dockerfile"),
    Verb("prune", "build", "remove the build cache: the step images of builds no name and "
                           "no container holds"),
)

SYSTEM = (
    Verb("boot", "system", "after a reboot or an engine restart: record what ended, clean "
                           "up, and start containers whose restart policy asks for it"),
    Verb("df", "system", "disk space used by images, containers, local volumes and the "
                         "build cache"),
    Verb("events", "events", "get real-time events from the engine"),
    Verb("gc", "system", "find and remove what crashed containers left behind (mounts, "
                         "cgroups, runtime state, network devices)"),
    Verb("health-checker", "health", "run every container's health checks on schedule, in "
                                     "the foreground, until interrupted (the engine service "
                                     "does this; one checker per engine root)"),
    Verb("healthcheck-run", "health", "run a container's health check now and print the "
                                      "result (status 0 when it passed, 1 when it failed)"),
    Verb("info", "system", "engine-wide information"),
    Verb("prune", "system", "remove stopped containers, unused networks and images, the "
                            "build cache (with --volumes, unused anonymous volumes)"),
    Verb("reset", "system", "remove all containers, images, networks and state of this "
                            "engine root from the host"),
    Verb("service", "system", "serve Docker's Engine API on a Unix socket (the docker CLI, "
                              "docker-py, docker-compose...)"),
    # Run by the engine itself, not by people: kept out of the listings. conmon's exit
    # commands for a container and for a terminal session, and the root's log keeper.
    Verb("container-exited", "system", "", hidden=True),
    Verb("exec-exited", "system", "", hidden=True),
    Verb("log-keeper", "system", "", hidden=True),
)


def _top(group: tuple, verb_name: str, **changes) -> Verb:
    """A group's verb as a top-level verb too (`moor run` is `moor container run`)."""
    return next(verb for verb in group if verb.name == verb_name).but(**changes)


# Every verb of `moor`, in the sections and the order `moor --help` lists them, as Docker's:
# its common commands, its management commands (groups), then the others.
COMMON = (
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
    Verb("version", "system", "show the version"),
    _top(SYSTEM, "info"),
)

MANAGEMENT = (
    _group("builder", "manage builds (build, prune)", *BUILDER),
    Verb("compose", "compose", "run multi-container projects from Compose files",
         verbs=COMPOSE),
    _group("container", "manage containers (ls, rm, inspect, logs, run, prune, ...)",
           *CONTAINER),
    _group("group", "manage groups of containers with shared limits (team quotas)", *GROUP),
    _group("image", "manage images (ls, pull, push, build, rm, prune, bootstrap, ...)", *IMAGE),
    _group("network", "manage networks", *NETWORK),
    _group("system", "manage the engine (df, events, prune, service, gc, boot, reset, ...)",
           *SYSTEM),
    _group("volume", "manage volumes", *VOLUME),
)

OTHERS = (
    _top(CONTAINER, "attach"),
    _top(CONTAINER, "commit"),
    _top(CONTAINER, "cp"),
    _top(CONTAINER, "create"),
    _top(CONTAINER, "diff"),
    _top(SYSTEM, "events"),
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

SECTIONS = (("Common commands", COMMON), ("Management commands", MANAGEMENT),
            ("Commands", OTHERS))
COMMANDS = COMMON + MANAGEMENT + OTHERS


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
        # An unknown verb, as Docker names it (argparse would list every verb, hidden ones
        # too).
        unknown = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
        if unknown:
            message = f"'{(command + ' ' + unknown[1]).strip()}' is not a moor command."
        sys.stderr.write(f"moor: {message}\nSee 'moor {command} --help'.\n" if command
                         else f"moor: {message}\nSee 'moor --help'.\n")
        sys.exit(125)


def find(verbs: tuple, name: str | None) -> Verb | None:
    """The verb of `verbs` called `name` or one of its aliases."""
    for verb in verbs:
        if name == verb.name or name in verb.aliases:
            return verb
    return None


def _add_verbs(subparsers, verbs: tuple, chosen: Verb | None, words: list[str],
               listed: bool = True) -> Parser | None:
    """Add `verbs` to `subparsers`: only `chosen` with its flags (the rest of the command
    line, `words`, picking among a group's verbs), or, when none is chosen, every verb with
    its help line alone, for the listing and for argparse's error about an unknown verb
    (`listed=False`: no listing, the caller writes its own). Returns the parser of the verb
    the command line names (a group's verb, when it names one)."""
    for verb in verbs:
        if chosen is not None and verb is not chosen:
            continue
        options = {"aliases": list(verb.aliases)}
        if listed and not verb.hidden:      # without a help line, argparse does not list it
            options["help"] = verb.help
        parser = subparsers.add_parser(verb.name, description=_sentence(verb.help),
                                       add_help=False, **options)
        if chosen is None:
            continue
        if verb.verbs:
            _help_flags(parser)
            if verb.module:         # the group's own options, before its verb
                _arguments(verb)[0](parser)
            return _fill_group(parser, verb, words)
        _fill_verb(parser, verb)
        return parser
    return None


def _arguments(verb: Verb):
    """(args_<key>, cmd_<key>) of the verb's module (cmd_ None for a group's options)."""
    import importlib
    module = importlib.import_module(f"runtime.cli.{verb.module}")
    key = verb.function_key
    return getattr(module, f"args_{key}"), getattr(module, f"cmd_{key}", None)


def _fill_verb(parser: Parser, verb: Verb) -> None:
    add_arguments, run = _arguments(verb)
    _help_flags(parser, getattr(add_arguments, "help_flags", ("-h", "--help")))
    add_arguments(parser)
    parser.set_defaults(func=run)


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
    index = _verb_index(words, _valued_options(parser))
    chosen = find(group.verbs, words[index]) if index is not None else None
    # `moor network` alone: the group's help, as Docker's.
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    return _add_verbs(subparsers, group.verbs, chosen,
                      words[index + 1:] if chosen else []) or parser


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else None


class TopParser(Parser):
    """`moor` itself: its help lists the verbs in Docker's sections (SECTIONS) before its
    own options, where argparse would list them in one."""

    def format_help(self):
        usage, _, rest = super().format_help().partition("\n\n")
        description, _, rest = rest.partition("\n\n")
        width = max(len(verb.name) for _, verbs in SECTIONS for verb in verbs) + 2
        sections = "\n".join(
            f"{title}:\n" + "".join(f"    {verb.name:<{width}}{verb.help}\n"
                                    for verb in verbs if not verb.hidden)
            for title, verbs in SECTIONS)
        # The verbs' listing is this, not argparse's, which leaves COMMAND out of the usage.
        return f"{usage} COMMAND ...\n\n{description}\n\n{sections}\n{rest}"


def build_parser(argv: list[str]) -> Parser:
    """The parser for this command line: `moor` with the verb it names (and, for a group,
    the group's verb it names) built in full; every verb with its help line otherwise."""
    parser = TopParser(
        prog="moor",
        description="Moorage's container engine: run, inspect and manage containers and images.",
        epilog="Run 'moor COMMAND --help' for more information on a command. --format takes "
               "a Go template (https://pkg.go.dev/text/template), as Docker's does: "
               "moor ps --format 'table {{.ID}}\\t{{.Names}}'.",
    )
    parser.add_argument(
        "--root", default=os.environ.get("MOORAGE_ROOT"),
        help="engine state directory (default: $MOORAGE_ROOT or /var/lib/moorage)")
    subparsers = parser.add_subparsers(metavar="COMMAND", parser_class=Parser,
                                       help=argparse.SUPPRESS)
    index = _verb_index(argv, _valued_options(parser))
    chosen = find(COMMANDS, argv[index]) if index is not None else None
    parser.verb = chosen
    # The parser of the verb typed, which reports the flags it does not know.
    parser.verb_parser = _add_verbs(subparsers, COMMANDS, chosen,
                                    argv[index + 1:] if chosen else [], listed=False) or parser
    return parser


def _valued_options(parser: Parser) -> set[str]:
    """The option strings of `parser` that take a value (`--root PATH`, `-f FILE`)."""
    # argparse keeps this table to itself; reading it spares a second list of the options.
    return {option for option, action in parser._option_string_actions.items()
            if action.nargs != 0}


def _verb_index(words: list[str], valued: set[str]) -> int | None:
    """Where the verb is among `words`: the first word that is neither an option nor the
    value of one in `valued` (`moor --root R ps`, `moor compose -f F up`)."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in valued:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return index
    return None


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
        from runtime.service import client  # run by the engine service when it is up
        status = client.forward(argv)
        if status is not None:
            return status
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
    except OSError as error:
        # A full disk, a permission, a missing file: one line, as for the engine's own
        # errors; `run` and `create` fail with 125 as they do when the engine refuses.
        from runtime.errors import os_error_text
        sys.stderr.write(f"Error: {os_error_text(error)}\n")
        return 125 if parser.verb is not None and parser.verb.name in ("run", "create") else 1
    return status or 0
