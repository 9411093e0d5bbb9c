"""`moor` verbs for registries: pull, push, login, logout, search."""

import sys

from runtime.cli.output import engine_for, write

INSECURE_HELP = ("the registry has no trusted certificate: try HTTPS without checking it, "
                 "then plain HTTP (loopback registries always use HTTP; "
                 "MOORAGE_INSECURE_REGISTRIES=host:port,... names others)")


def _transfer_flags(parser, name: str):
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the image's full reference")
    parser.add_argument("--insecure", action="store_true", help=INSECURE_HELP)
    parser.add_argument("name", metavar=name)


def args_pull(parser):
    _transfer_flags(parser, "NAME[:TAG|@DIGEST]")


def args_push(parser):
    _transfer_flags(parser, "NAME[:TAG]")


def args_login(parser):
    parser.add_argument("-u", "--username")
    parser.add_argument("-p", "--password")
    parser.add_argument("--password-stdin", action="store_true",
                        help="take the password from standard input")
    parser.add_argument("--insecure", action="store_true", help=INSECURE_HELP)
    parser.add_argument("server", nargs="?", metavar="SERVER",
                        help="the registry (default: Docker Hub)")


def args_logout(parser):
    parser.add_argument("server", nargs="?", metavar="SERVER",
                        help="the registry (default: Docker Hub)")


def args_search(parser):
    parser.add_argument("--limit", type=int, default=25, help="at most this many results "
                                                               "(default 25)")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="stars=N, is-official=true|false, is-automated=true|false")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("--format", default=None,
                        help="Go template as in Docker: '{{.Name}}', 'table {{.Name}}\\t"
                             "{{.StarCount}}', 'json'; fields: .Name .Description .StarCount "
                             ".IsOfficial .IsAutomated")
    parser.add_argument("--insecure", action="store_true", help=INSECURE_HELP)
    parser.add_argument("term", metavar="REGISTRY/TERM",
                        help="a registry and the text its repository names must hold "
                             "(127.0.0.1:5000/app; 127.0.0.1:5000/ lists them all)")


def cmd_search(args) -> int:
    """`search` in a registry's catalog (GET /v2/_catalog): the repositories whose name
    holds the term. Docker Hub's search is a service of its own, not a catalog: asked for
    it, a clear error."""
    from runtime.cli import filters
    from runtime.cli.output import print_rows
    from runtime.cli.rows import SearchRow
    from runtime.errors import InvalidArgument, NotFound
    from runtime.image.distribution.client import Client, Unauthorized
    from runtime.image.distribution.credentials import Credentials
    from runtime.image.distribution.names import DOCKER_HUB, registry_of, registry_root
    wanted = filters.parse(args.filter, ("stars", "is-official", "is-automated"))
    for key, values in wanted.items():
        for value in values:
            valid = value.isdigit() if key == "stars" else value in ("true", "false")
            if not valid:
                raise InvalidArgument(f"invalid filter '{key}={value}'")
    if not 1 <= args.limit <= 100:
        raise InvalidArgument("limit must be between 1 and 100")
    first, slash, term = args.term.partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        first, term = DOCKER_HUB, args.term
    registry = registry_of(first)
    if registry == DOCKER_HUB:
        raise InvalidArgument("searching Docker Hub is not supported: its search is a service "
                              "of its own, not a registry catalog; name a registry that lists "
                              "its repositories, e.g. moor search 127.0.0.1:5000/" + term)
    credentials = Credentials(engine_for(args).paths).get(registry)
    try:
        with Client(registry_root(registry), credentials, args.insecure) as client:
            names = client.catalog(1000)
    except (NotFound, Unauthorized) as error:
        raise NotFound(f"registry {registry} does not list its repositories to us (GET "
                       f"/v2/_catalog: {error.message})") from None
    minimum = max((int(value) for value in wanted.get("stars", ())), default=0)
    official = "true" in wanted.get("is-official", ()) or "true" in wanted.get(
        "is-automated", ())
    found = [{"name": f"{registry}/{name}", "description": "", "star_count": 0}
             for name in names if term.lower() in name.lower()]
    if minimum or official:         # nothing in a catalog has stars or is official
        found = []
    print_rows(args.format, [SearchRow(result, trunc=not args.no_trunc)
                             for result in found[:args.limit]], SearchRow)
    return 0


def _lines(quiet: bool):
    return None if quiet else (lambda line: write(line + "\n"))


def cmd_pull(args) -> int:
    from runtime.image.distribution.names import locate
    location = locate(args.name)
    engine_for(args).pull(args.name, progress=_lines(args.quiet), insecure=args.insecure)
    write(location.canonical_reference + "\n")
    return 0


def cmd_push(args) -> int:
    from runtime.image.distribution.names import locate
    location = locate(args.name)
    engine_for(args).push(args.name, progress=_lines(args.quiet), insecure=args.insecure)
    if args.quiet:
        write(location.canonical_reference + "\n")
    return 0


def _ask(prompt: str, secret: bool) -> str:
    if not sys.stdin.isatty():
        from runtime.errors import InvalidArgument
        raise InvalidArgument("Cannot perform an interactive login from a non TTY device")
    if secret:
        import getpass
        return getpass.getpass(prompt)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().rstrip("\n")


def cmd_login(args) -> int:
    from runtime.errors import InvalidArgument
    from runtime.image.distribution.client import Client
    from runtime.image.distribution.credentials import Credentials
    from runtime.image.distribution.names import registry_of, registry_root
    name = registry_of(args.server)
    if args.password and args.password_stdin:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    if args.password_stdin:
        if not args.username:
            raise InvalidArgument("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif args.password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. "
                         "Use --password-stdin.\n")
        password = args.password
    else:
        password = None
    username = args.username or _ask("Username: ", secret=False)
    if password is None:
        password = _ask("Password: ", secret=True)
    if not username or not password:
        raise InvalidArgument("Error: username and password are required")
    if ":" in username:
        raise InvalidArgument("a username must not contain ':'")
    with Client(registry_root(name), (username, password), args.insecure) as client:
        client.check_login()
    credentials = Credentials(engine_for(args).paths)
    credentials.save(name, username, password)
    sys.stderr.write(f"WARNING! Your password will be stored unencrypted in "
                     f"{credentials.path}.\n")
    write("Login Succeeded\n")
    return 0


def cmd_logout(args) -> int:
    from runtime.image.distribution.credentials import Credentials
    from runtime.image.distribution.names import registry_of
    name = registry_of(args.server)
    shown = Credentials.key(name)
    if Credentials(engine_for(args).paths).remove(name):
        write(f"Removing login credentials for {shown}\n")
    else:
        write(f"Not logged in to {shown}\n")
    return 0
