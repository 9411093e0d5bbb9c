"""`moor compose`: Compose projects, with docker compose's verbs and flags.

    moor compose [-f FILE]... [-p NAME] [--env-file FILE]... [--profile NAME]... VERB ...

Files come from `-f` (several are merged), else `COMPOSE_FILE`, else compose.yaml (or
compose.yml, docker-compose.yaml, docker-compose.yml) in the current directory with its
override file; the project's name from `-p`, `COMPOSE_PROJECT_NAME`, the file's `name`, or
the directory. Progress goes to stderr, as Compose writes it; listings and logs to stdout.
The work is `runtime.compose`'s; each verb here is a small function that calls it, its flags
in `args_<verb>` (the verb table of runtime.cli); `args_compose` has the project's options.
"""

import os
import sys

from runtime.cli.output import engine_for

# Compose's colours for log prefixes, one per container in turn.
_COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


def args_compose(parser):
    """The project's own options, before the verb (`moor compose -f FILE up`)."""
    parser.description = ("Run a project described by Compose files (the Compose "
                          "Specification).")
    parser.add_argument("-f", "--file", action="append", default=[], metavar="FILE",
                        help="a Compose file (several are merged in order)")
    parser.add_argument("-p", "--project-name", metavar="NAME", help="the project's name")
    parser.add_argument("--project-directory", metavar="DIR",
                        help="the project's directory (default: the first file's)")
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE",
                        help="variables for interpolation (default: .env in the project "
                             "directory)")
    parser.add_argument("--profile", action="append", default=[], metavar="NAME",
                        help="enable the services of this profile")


def args_up(parser):
    parser.add_argument("-d", "--detach", action="store_true", help="run in the background")
    parser.add_argument("--build", action="store_true", help="build images before starting")
    parser.add_argument("--force-recreate", action="store_true",
                        help="recreate containers even if nothing changed")
    parser.add_argument("--no-recreate", action="store_true",
                        help="keep existing containers even if their configuration changed")
    parser.add_argument("--no-deps", action="store_true", help="do not start linked services")
    parser.add_argument("--remove-orphans", action="store_true",
                        help="remove containers of services the files no longer have")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would change, and why, without changing anything")
    parser.add_argument("--wait-timeout", type=float, default=300, metavar="SECONDS",
                        help="how long a service waits for its dependencies' conditions")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_down(parser):
    parser.add_argument("-v", "--volumes", action="store_true",
                        help="also remove the named volumes the file declares")
    parser.add_argument("--remove-orphans", action="store_true",
                        help="also remove containers of services the files no longer have")
    parser.add_argument("-t", "--timeout", type=int,
                        help="seconds to wait for a stop before killing")


def args_ps(parser):
    parser.add_argument("-a", "--all", action="store_true", help="stopped ones too")
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_logs(parser):
    parser.add_argument("-f", "--follow", action="store_true", help="follow new output")
    parser.add_argument("-n", "--tail", default="all", help="lines from the end of each log")
    parser.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("--no-color", action="store_true", help="no colours")
    parser.add_argument("--no-log-prefix", action="store_true", help="no container prefix")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_config(parser):
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("-q", "--quiet", action="store_true", help="only validate")
    parser.add_argument("--services", action="store_true", help="only the services' names")
    parser.add_argument("--volumes", action="store_true", help="only the volumes' names")
    parser.add_argument("--hash", metavar="SERVICE",
                        help="the config hash of services ('*' for all)")


def args_pull(parser):
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_build(parser):
    parser.add_argument("--no-cache", action="store_true", help="do not use the cache")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_start(parser):
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_stop(parser):
    parser.add_argument("-t", "--timeout", type=int,
                        help="seconds to wait for a stop before killing")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


args_restart = args_stop


def args_exec(parser):
    _process_flags(parser)
    parser.add_argument("--index", type=int, default=1,
                        help="which container of the service")
    parser.add_argument("--privileged", action="store_true", help="every capability")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs="...", metavar="COMMAND")


def args_run(parser):
    _process_flags(parser)
    parser.add_argument("--rm", action="store_true",
                        help="remove the container when it exits")
    parser.add_argument("--name", help="the container's name")
    parser.add_argument("--entrypoint", help="override the image's entrypoint")
    parser.add_argument("--no-deps", action="store_true", help="do not start the dependencies")
    parser.add_argument("--service-ports", action="store_true",
                        help="publish the service's ports")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs="...", metavar="COMMAND")


def args_top(parser):
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def args_images(parser):
    parser.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def _process_flags(parser):
    parser.add_argument("-d", "--detach", action="store_true", help="run in the background")
    parser.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true",
                        help="no pseudo-terminal (the default when stdin is not one)")
    parser.add_argument("-e", "--env", action="append", default=[], help="set variables")
    parser.add_argument("-u", "--user", help="user: name|uid[:group|gid]")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")


# -- helpers --------------------------------------------------------------------------------

def _project(args, services=()):
    from runtime import compose
    from runtime.paths import Paths
    project = compose.load(files=args.file or None, working_dir=args.project_directory,
                           project_name=args.project_name, env_files=args.env_file or None,
                           profiles=args.profile, services=services,
                           cache_dir=os.path.join(Paths(args.root).root, "compose",
                                                  "validated"))
    for warning in project.warnings:
        sys.stderr.write(f"WARN: {warning}\n")
    return project


def _project_name_only(args) -> tuple[str, object]:
    """(name, project or None): `down` and friends work from labels when there is no file
    but the name is given."""
    from runtime.compose.errors import ComposeError
    try:
        project = _project(args)
        return project.name, project
    except ComposeError as error:
        name = args.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        if name and "no Compose file" in error.message:
            return name, None
        raise


def _progress(event: dict) -> None:
    kind = event["kind"].capitalize()
    detail = f" ({event['detail']})" if event.get("detail") else ""
    sys.stderr.write(f" {kind} {event['name']}  {event['status']}{detail}\n")
    sys.stderr.flush()


def _print_plan(plan) -> None:
    described = plan.to_dict()
    for name in described["networks"]:
        print(f"network {name}: create")
    for name in described["volumes"]:
        print(f"volume {name}: create")
    for name in described["build"]:
        print(f"image of {name}: build")
    for name in described["pull"]:
        print(f"image of {name}: pull")
    for item in described["services"]:
        reasons = f" ({'; '.join(item['reasons'])})" if item["reasons"] else ""
        print(f"service {item['service']}: {item['action']}{reasons}")
    for orphan in described["orphans"]:
        print(f"orphan {orphan['name']} (service {orphan['service']}): {orphan['action']}")


# -- verbs ----------------------------------------------------------------------------------

def cmd_up(args) -> int:
    from runtime import compose
    engine = engine_for(args)
    project = _project(args, args.services)
    plan = compose.plan_up(engine, project, services=args.services,
                           force_recreate=args.force_recreate, no_recreate=args.no_recreate,
                           no_deps=args.no_deps, build=args.build,
                           remove_orphans=args.remove_orphans)
    if args.dry_run:
        _print_plan(plan)
        return 0
    if plan.orphans and not args.remove_orphans:
        names = ", ".join(summary["Names"][0].lstrip("/") for summary in plan.orphans)
        sys.stderr.write(f"WARN: Found orphan containers ({names}) for this project. If you "
                         f"removed or renamed this service in your compose file, you can run "
                         f"this command with the --remove-orphans flag to clean it up.\n")
    started = compose.up(engine, plan, progress=_progress, timeout=args.wait_timeout,
                         build_output=_build_output)
    if args.detach:
        return 0
    # Attached, as Compose: follow the services' output; Ctrl-C stops them.
    try:
        _follow(engine, project, list(started.items()), tail=0, timestamps=False,
                colour=_colour_wanted(False), prefix=True, until_all_exit=True)
    except KeyboardInterrupt:
        sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        compose.stop(engine, project, list(started), progress=_progress)
    return 0


def _build_output(text) -> None:
    sys.stderr.write(text if isinstance(text, str) else text.decode(errors="replace"))
    sys.stderr.flush()


def cmd_down(args) -> int:
    from runtime import compose
    name, project = _project_name_only(args)
    compose.down(engine_for(args), name, project, volumes=args.volumes,
                 remove_orphans=args.remove_orphans, progress=_progress, timeout=args.timeout)
    return 0


def _containers(engine, name: str, services=(), all: bool = True) -> list[dict]:
    from runtime.compose.containers import project_containers, service_of
    found = [summary for summary in project_containers(engine, name)
             if not services or service_of(summary) in services]
    if not all:
        found = [summary for summary in found if summary["State"] in ("running", "paused",
                                                                        "restarting")]
    return sorted(found, key=lambda summary: summary["Names"][0])


def cmd_ps(args) -> int:
    from runtime.cli.output import print_table
    from runtime.cli.rows import ContainerRow
    from runtime.compose.containers import service_of
    engine = engine_for(args)
    name, _ = _project_name_only(args)
    found = _containers(engine, name, args.services, all=args.all)
    if args.quiet:
        for summary in found:
            print(summary["Id"])
        return 0
    rows = []
    for summary in found:
        row = ContainerRow(summary)
        rows.append([summary["Names"][0].lstrip("/"), summary["Image"], row.Command(),
                     service_of(summary), row.RunningFor(), row.Status(), row.Ports()])
    print_table(["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"], rows)
    return 0


def cmd_logs(args) -> int:
    from runtime.errors import InvalidArgument
    engine = engine_for(args)
    name, project = _project_name_only(args)
    tail = None
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError:
            raise InvalidArgument(f"invalid value for --tail: {args.tail!r}") from None
    from runtime.compose.containers import service_of
    found = [(service_of(summary), summary["Id"])
             for summary in _containers(engine, name, args.services)]
    _follow(engine, project, found, tail=tail, timestamps=args.timestamps,
            colour=_colour_wanted(args.no_color), prefix=not args.no_log_prefix,
            follow=args.follow)
    return 0


def _colour_wanted(no_color: bool) -> bool:
    return not no_color and os.isatty(sys.stdout.fileno()) and not os.environ.get("NO_COLOR")


def _follow(engine, project, containers, tail, timestamps, colour, prefix, follow=True,
            until_all_exit=False) -> None:
    """The containers' logs merged into stdout, each line prefixed with its container's
    name (padded, coloured on a terminal). Without `follow`, the lines are merged in time
    order; with it, each container has a reader thread and lines print as they come."""
    import queue
    import threading

    names = {}
    for _service, container_id in containers:
        shown = engine.inspect(container_id)["Name"].lstrip("/")
        names[container_id] = shown
    width = max((len(name) for name in names.values()), default=0)
    prefixes = {}
    for index, (_service, container_id) in enumerate(containers):
        text = f"{names[container_id]:<{width}}  | " if prefix else ""
        if colour and prefix:
            text = f"\x1b[{_COLOURS[index % len(_COLOURS)]}m{text}\x1b[0m"
        prefixes[container_id] = text.encode()
    out = sys.stdout.buffer

    def line_of(container_id, record) -> bytes:
        data = record.data if record.data.endswith(b"\n") else record.data + b"\n"
        stamp = record.time.encode() + b" " if timestamps else b""
        return prefixes[container_id] + stamp + data

    if not follow:
        records = []
        for _, container_id in containers:
            for record in engine.logs(container_id, tail=tail):
                records.append((record.time, container_id, record))
        records.sort(key=lambda item: item[0])
        out.write(b"".join(line_of(container_id, record) for _, container_id, record in records))
        out.flush()
        return
    lines: "queue.Queue" = queue.Queue()

    def read(container_id):
        try:
            for record in engine.logs(container_id, follow=True, tail=tail):
                lines.put(line_of(container_id, record))
        finally:
            lines.put(None)

    for _, container_id in containers:
        threading.Thread(target=read, args=(container_id,), daemon=True).start()
    running = len(containers)
    while running:
        item = lines.get()
        if item is None:
            running -= 1
            continue
        out.write(item)
        out.flush()


def cmd_config(args) -> int:
    import json
    project = _project(args)
    if args.quiet:
        return 0
    if args.services:
        print("\n".join(project.active))
        return 0
    if args.volumes:
        print("\n".join(project.to_dict().get("volumes", {})))
        return 0
    if args.hash:
        from runtime.compose.containers import config_hash
        chosen = project.active if args.hash == "*" else args.hash.split(",")
        for name in chosen:
            if name not in project.services:
                from runtime.compose.errors import ComposeError
                raise ComposeError(f"no such service: {name}")
            print(f"{name} {config_hash(project, name)}")
        return 0
    model = project.to_dict()
    if args.format == "json":
        print(json.dumps(model, indent=2))
    else:
        import yaml
        sys.stdout.write(yaml.safe_dump(model, sort_keys=False, default_flow_style=False))
    return 0


def cmd_pull(args) -> int:
    from runtime.compose.containers import image_reference
    engine = engine_for(args)
    project = _project(args, args.services)
    for name in args.services or project.active:
        if project.services[name].get("build") and not project.services[name].get("image"):
            continue
        reference = image_reference(project, name)
        _progress({"kind": "image", "name": reference, "status": "Pulling"})
        engine.pull(reference)
        _progress({"kind": "image", "name": reference, "status": "Pulled"})
    return 0


def cmd_build(args) -> int:
    from runtime.compose.containers import image_reference
    engine = engine_for(args)
    project = _project(args, args.services)
    for name in args.services or project.active:
        build = project.services[name].get("build")
        if not build:
            continue
        reference = image_reference(project, name)
        _progress({"kind": "image", "name": reference, "status": "Building"})
        engine.build(build["context"], dockerfile=build.get("dockerfile"), tags=[reference],
                     build_args=build.get("args"), target=build.get("target"),
                     no_cache=args.no_cache, output=_build_output)
        _progress({"kind": "image", "name": reference, "status": "Built"})
    return 0


def cmd_start(args) -> int:
    from runtime import compose
    compose.start(engine_for(args), _project(args, args.services), args.services,
                  progress=_progress)
    return 0


def cmd_stop(args) -> int:
    from runtime import compose
    compose.stop(engine_for(args), _project(args, args.services), args.services,
                 progress=_progress, timeout=args.timeout)
    return 0


def cmd_restart(args) -> int:
    from runtime import compose
    compose.restart(engine_for(args), _project(args, args.services), args.services,
                    progress=_progress, timeout=args.timeout)
    return 0


def _service_container(engine, project, service: str, index: int = 1) -> dict:
    from runtime.compose.containers import number_of
    from runtime.compose.errors import ComposeError
    if service not in project.services:
        raise ComposeError(f"no such service: {service}")
    for summary in _containers(engine, project.name, [service]):
        if number_of(summary) == index:
            return summary
    raise ComposeError(f"service {service} has no container {index}: run up")


def cmd_exec(args) -> int:
    import argparse

    from runtime.cli.interactive import cmd_exec as exec_in_container
    engine = engine_for(args)
    project = _project(args)
    summary = _service_container(engine, project, args.service, args.index)
    tty = not args.no_tty and not args.detach and os.isatty(0)
    return exec_in_container(argparse.Namespace(
        root=args.root, container=summary["Id"], command=args.command, tty=tty,
        interactive=not args.detach, detach=args.detach, user=args.user,
        workdir=args.workdir, env=args.env, privileged=args.privileged))


def cmd_run(args) -> int:
    from runtime import compose
    from runtime.cli.interactive import run_attached
    from runtime.compose import containers as labels
    from runtime.compose.apply import bind_sources
    engine = engine_for(args)
    project = _project(args, [args.service])
    dependencies = [name for name in project.with_dependencies([args.service])
                    if name != args.service]
    if dependencies and not args.no_deps:
        plan = compose.plan_up(engine, project, services=dependencies)
        compose.up(engine, plan, progress=_progress)
    plan = compose.plan_up(engine, project, services=[args.service], no_deps=True)
    if plan.networks or plan.build or plan.pull or plan.volumes:
        plan.services = []
        compose.up(engine, plan, progress=_progress)
    image_id = plan.images.get(args.service) or engine.image_id(
        labels.image_reference(project, args.service))
    bind_sources(project, [args.service])
    name = args.name or f"{project.name}-{args.service}-run-{os.urandom(6).hex()}"
    options = labels.create_options(project, args.service, image_id, oneoff=True,
                                    container_name_override=name)
    if args.service_ports and project.services[args.service].get("ports"):
        from runtime.compose.normalize import port_spec
        options["ports"] = [port_spec(port) for port in project.services[args.service]["ports"]]
    if args.command:
        options["cmd"] = list(args.command)
    if args.entrypoint is not None:
        from runtime.container.options import string_list
        options["entrypoint"] = string_list(args.entrypoint, "entrypoint")
    if args.env:
        options["env"] = options.get("env", []) + list(args.env)
    if args.user:
        options["user"] = args.user
    if args.workdir:
        options["workdir"] = args.workdir
    options.pop("restart", None)
    if args.rm:
        options["auto_remove"] = True
    if args.detach:
        container_id = engine.run(options)
        print(container_id)
        return 0
    tty = not args.no_tty and os.isatty(0)
    options["tty"], options["stdin_open"] = tty, True
    return run_attached(engine, options, interactive=True, sig_proxy=True)


def cmd_top(args) -> int:
    from runtime.cli.output import print_table
    from runtime.container import cgroups
    engine = engine_for(args)
    name, _ = _project_name_only(args)
    for summary in _containers(engine, name, args.services, all=False):
        container = engine.container(summary["Id"])
        print(summary["Names"][0].lstrip("/"))
        rows = cgroups.processes(engine.paths.cgroup_parent, container)
        print_table(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], rows,
                    minwidth=20)
        print()
    return 0


def cmd_images(args) -> int:
    from runtime.cli.output import print_table
    from runtime.cli.rows import human_size
    engine = engine_for(args)
    name, _ = _project_name_only(args)
    rows, seen = [], set()
    for summary in _containers(engine, name, args.services):
        image = engine.image_inspect(summary["ImageID"])
        if args.quiet:
            if image["Id"] not in seen:
                print(image["Id"].split(":", 1)[-1][:12])
            seen.add(image["Id"])
            continue
        tags = image.get("RepoTags") or ["<none>:<none>"]
        repository, _, tag = tags[0].rpartition(":")
        rows.append([summary["Names"][0].lstrip("/"), repository, tag,
                     image["Id"].split(":", 1)[-1][:12], human_size(image.get("Size", 0))])
    if not args.quiet:
        print_table(["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], rows)
    return 0
