"""`moor` verbs: network create|ls|inspect|rm|connect|disconnect|prune, and port."""

import json
import sys


def args_create(parser):
    parser.add_argument("-d", "--driver", default="bridge", help="only bridge")
    parser.add_argument("--subnet", help="subnet in CIDR form, e.g. 172.30.0.0/16 "
                                         "(default: a free one)")
    parser.add_argument("--gateway", help="gateway address (default: the first address)")
    parser.add_argument("--internal", action="store_true",
                        help="no traffic in or out of the network, only between its members")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="moorage.host_access=true lets containers open connections to "
                             "the host's own services")
    parser.add_argument("name", metavar="NETWORK")


def args_ls(parser):
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("--no-trunc", action="store_true", help="full IDs")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="name=, id=, driver=")
    parser.add_argument("--format", help="Go template (https://pkg.go.dev/text/template) as "
                        "in Docker: '{{.Name}}', 'table {{.ID}}\\t{{.Name}}', 'json'; fields: "
                        ".ID .Name .Driver .Scope .IPv4 .IPv6 .Internal .Labels .Label "
                        ".CreatedAt")


def args_inspect(parser):
    parser.add_argument("-f", "--format", help="Go template over each network's JSON, as "
                        "in Docker: '{{.IPAM.Config}}', or 'json'")
    parser.add_argument("networks", nargs="+", metavar="NETWORK")


def args_rm(parser):
    parser.add_argument("networks", nargs="+", metavar="NETWORK")


def args_connect(parser):
    parser.add_argument("--alias", action="append", default=[], metavar="ALIAS",
                        help="another name the container has on this network")
    parser.add_argument("network", metavar="NETWORK")
    parser.add_argument("container", metavar="CONTAINER")


def args_disconnect(parser):
    parser.add_argument("-f", "--force", action="store_true", help="accepted for "
                        "compatibility")
    parser.add_argument("network", metavar="NETWORK")
    parser.add_argument("container", metavar="CONTAINER")


def args_prune(parser):
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME")


def args_port(parser):
    parser.description = ("List port mappings of CONTAINER, or the host addresses of one "
                          "PRIVATE_PORT.")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("private", nargs="?", metavar="PRIVATE_PORT[/PROTO]")


def _paths(args):
    from runtime.paths import Paths
    return Paths(args.root)


def _pairs(values: list[str], what: str) -> dict:
    from runtime.errors import InvalidArgument
    pairs = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid {what} {value!r}: expected KEY=VALUE")
        pairs[key] = text
    return pairs


def cmd_create(args) -> int:
    from runtime.errors import InvalidArgument
    from runtime.network import create_network

    if args.driver != "bridge":
        raise InvalidArgument(f"network driver {args.driver} is not supported: Moorage "
                              f"networks use the bridge driver")
    options = _pairs(args.opt, "option")
    host_access = options.pop("moorage.host_access", "false").lower()
    if options:
        raise InvalidArgument(f"unknown network option {sorted(options)[0]}")
    if host_access not in ("true", "false", "1", "0"):
        raise InvalidArgument("moorage.host_access takes true or false")
    network = create_network(_paths(args), args.name, subnet=args.subnet, gateway=args.gateway,
                             internal=args.internal, host_access=host_access in ("true", "1"),
                             labels=_pairs(args.label, "label"))
    print(network["Id"])
    return 0


def _matches(network: dict, filters: dict) -> bool:
    for key, value in filters.items():
        if key == "name" and value not in network["Name"]:
            return False
        if key == "id" and not network["Id"].startswith(value):
            return False
        if key == "driver" and network["Driver"] != value:
            return False
    return True


def cmd_ls(args) -> int:
    from runtime.cli.output import print_rows, write
    from runtime.cli.rows import NetworkRow
    from runtime.errors import InvalidArgument
    from runtime.network import list_networks

    filters = _pairs(args.filter, "filter")
    unknown = set(filters) - {"name", "id", "driver"}
    if unknown:
        raise InvalidArgument(f"invalid filter {sorted(unknown)[0]!r}")
    networks = [network for network in list_networks(_paths(args)) if _matches(network, filters)]
    width = None if args.no_trunc else 12
    if args.quiet:
        write("".join(network["Id"][:width] + "\n" for network in networks))
    else:
        print_rows(args.format, [NetworkRow(network, trunc=not args.no_trunc)
                                 for network in networks], NetworkRow)
    return 0


def cmd_inspect(args) -> int:
    from runtime.cli.output import print_documents, write
    from runtime.errors import MoorError
    from runtime.network import inspect_network

    paths, documents, failed = _paths(args), [], False
    for name in args.networks:
        try:
            documents.append(inspect_network(paths, name))
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
    if args.format:
        failed = not print_documents(args.format, documents) or failed
    else:
        write(json.dumps(documents, indent=4) + "\n")
    return 1 if failed else 0


def cmd_rm(args) -> int:
    from runtime.errors import MoorError
    from runtime.network import remove_network

    paths, failed = _paths(args), False
    for name in args.networks:
        try:
            remove_network(paths, name)
            print(name)
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
    return 1 if failed else 0


def cmd_prune(args) -> int:
    """Docker's `network prune`: every user network no running container is on (the
    console's team networks stay: the console makes them and counts on them)."""
    from runtime.cli import filters
    from runtime.cli.output import confirm, write

    wanted = filters.parse(args.filter, filters.PRUNE_FILTERS)
    if not confirm("WARNING! This will remove all custom networks not used by at least one "
                   "container.\nAre you sure you want to continue?", args.force):
        return 0
    removed = remove_unused_networks(_paths(args), wanted)
    if removed:
        write("Deleted Networks:\n" + "".join(name + "\n" for name in removed))
    return 0


def remove_unused_networks(paths, wanted: dict) -> list[str]:
    """Remove the user networks no running container is on that pass the prune filters
    `wanted`; the console's team networks stay. Returns their names."""
    from runtime.cli import filters
    from runtime.errors import Conflict, NotFound
    from runtime.network import list_networks, remove_network
    removed = []
    for network in list_networks(paths):
        labels = network.get("Labels") or {}
        if network["Name"] in ("bridge", "host", "none") or TEAM_LABEL in labels or \
                network["Containers"] or \
                not filters.prune_matches(wanted, labels, network.get("Created")):
            continue
        try:
            remove_network(paths, network["Id"])
        except (Conflict, NotFound):      # a container came, or another prune was first
            continue
        removed.append(network["Name"])
    return removed


TEAM_LABEL = "moorage.team"


def _container(args, ref: str) -> dict:
    """A container by full ID, unique ID prefix or name, as the engine resolves it."""
    from runtime.cli.output import engine_for
    return engine_for(args).inspect(ref)


def cmd_connect(args) -> int:
    from runtime.container.options import parse_network_aliases
    from runtime.network import NetworkRequest, connect

    container = _container(args, args.container)
    connect(_paths(args), args.network, NetworkRequest(
        container_id=container["Id"], name=container["Name"].lstrip("/"),
        hostname=container["Config"].get("Hostname") or container["Id"][:12],
        mode=args.network, aliases=parse_network_aliases(args.alias, args.network)))
    return 0


def cmd_disconnect(args) -> int:
    from runtime.network import disconnect

    container = _container(args, args.container)
    disconnect(_paths(args), args.network, container["Id"])
    return 0


def cmd_port(args) -> int:
    from runtime.errors import MoorError
    from runtime.network import network_settings
    from runtime.network.ports import port_sort_key

    container = _container(args, args.container)
    settings = network_settings(_paths(args), container["Id"]) or {}
    ports = settings.get("Ports") or {}
    if args.private:
        number, _, proto = args.private.partition("/")
        key = f"{number}/{proto or 'tcp'}"
        bindings = ports.get(key)
        if not bindings:
            raise MoorError(f"No public port '{key}' published for {container['Name'].lstrip('/')}")
        print("\n".join(f"{binding['HostIp']}:{binding['HostPort']}" for binding in bindings))
        return 0
    for key, bindings in sorted(ports.items(), key=lambda item: port_sort_key(item[0])):
        for binding in bindings or ():
            print(f"{key} -> {binding['HostIp']}:{binding['HostPort']}")
    return 0
