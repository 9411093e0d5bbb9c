"""`moor`: the engine's command line, with Docker's verbs, flags and output shapes.

Each module in this package registers a group of verbs (`register(subparsers)`); a verb is one
small function `(args) -> int` that calls the engine API and prints. Imports are lazy and only
the group that owns the verb typed is loaded: a command line that starts in a few milliseconds
is part of the product.
"""

import gettext
import os
import sys

# argparse passes every help string through gettext, which looks for a message catalogue on
# disk for each one (about 150 lookups per command, 10 ms); moor's messages are English only.
_untranslated = gettext.NullTranslations()
gettext.gettext, gettext.ngettext = _untranslated.gettext, _untranslated.ngettext

import argparse  # noqa: E402  (after the gettext shortcut above, which it binds at import)

from runtime.errors import MoorError, os_error_text  # noqa: E402

# Verb groups, in the order `moor --help` lists them.
GROUPS = ("containers", "images", "build", "registry", "network", "volumes", "groups", "compose",
          "events", "system")

# Which group defines each verb, so `moor run` loads one module instead of all of them.
# A verb missing here still works: the full parser is built when the table does not know it.
VERB_GROUPS = {
    **dict.fromkeys(("run", "create", "start", "stop", "restart", "kill", "rm", "ps",
                     "inspect", "logs", "wait", "pause", "unpause", "rename", "top", "stats",
                     "attach", "exec", "container"), "containers"),
    **dict.fromkeys(("images", "rmi", "tag", "history", "image", "cp", "diff", "commit",
                     "export", "import", "save", "load"), "images"),
    **dict.fromkeys(("info", "version", "system"), "system"),
    **dict.fromkeys(("network", "port"), "network"),
    "volume": "volumes",
    "group": "groups",
    "build": "build",
    "compose": "compose",
    "events": "events",
    **dict.fromkeys(("pull", "push", "login", "logout"), "registry"),
}


class Parser(argparse.ArgumentParser):
    """argparse with Docker's error shape: one line on stderr, exit status 125 for bad flags
    (what `docker run` returns when the command line itself is wrong)."""

    def error(self, message):
        # COMMAND of run/create is optional (the image's own command runs); argparse lists it
        # among the required arguments all the same.
        message = message.replace("arguments are required: IMAGE, COMMAND",
                                  "argument is required: IMAGE")
        sys.stderr.write(f"moor: {message}\nSee 'moor {self.prog.split()[-1]} --help'.\n"
                         if self.prog != "moor" else f"moor: {message}\nSee 'moor --help'.\n")
        sys.exit(125)


class _OneVerb:
    """Stands for the subparsers when a command line names a known verb: only that verb's
    parser is really built (building all of a group's costs ~15 ms), the others' definitions
    go nowhere."""

    def __init__(self, subparsers, verb: str):
        self._subparsers = subparsers
        self._verb = verb

    def add_parser(self, name, **kwargs):
        if name == self._verb or self._verb in kwargs.get("aliases", ()):
            return self._subparsers.add_parser(name, **kwargs)
        return _Nowhere()


class _Nowhere:
    """Accepts any parser-building call and keeps nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: _Nowhere()


def build_parser(only_group: str | None = None, verb: str | None = None) -> Parser:
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
    target = _OneVerb(subparsers, verb) if (only_group and verb) else subparsers
    import importlib
    for group in GROUPS:
        if only_group is None or group == only_group:
            importlib.import_module(f"runtime.cli.{group}").register(target)
    return parser


def _verb(argv: list[str]) -> str | None:
    """The verb of a command line: the first word that is not an option of `moor` itself."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--root":
            skip = True
            continue
        if word.startswith("-"):
            continue
        return word
    return None


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
        from runtime.service import client     # run by the engine service when it is up
        status = client.forward(argv)
        if status is not None:
            return status
    verb = _verb(argv)
    parser = build_parser(VERB_GROUPS.get(verb), verb)
    args = parser.parse_args(argv)
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
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as error:
        # A full disk, a permission, a missing file: one line, as for the engine's own
        # errors; `run` and `create` fail with 125 as they do when the engine refuses.
        sys.stderr.write(f"Error: {os_error_text(error)}\n")
        return 125 if verb in ("run", "create") else 1
    return status or 0
