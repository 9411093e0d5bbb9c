"""`python -m console.agent COMMAND`: the host's agent (what `./moorage` runs on a host).

    worker              the host's Celery worker: jobs from its queue `host.<name>`
    bridge              the host's stream bridge: terminals and log follows over /ws/agent/
    join URL TOKEN [--ca FILE] [--redis URL]
                        exchange a join token for the host's key, kept in var/host.key
                        (MOORAGE_HOST_KEY), with the console's URL, where Redis is (as the
                        console says, or --redis) and the CA (--ca, copied beside the key)
    leave               tell the console the host leaves (its key is revoked) and forget
                        the key

Both services read only the key file and their environment (MOORAGE_ROOT, the engine root;
MOORAGE_WORKER_CONCURRENCY): no database, no secret key, no Django.
"""
import argparse
import logging
import os
import shutil
import ssl
import sys

from console.agent import config as agent_config
from console.agent.config import AgentError


def worker(arguments) -> int:
    config = agent_config.current()
    from console.agent.queue import configure

    app = configure(config)
    import console.agent.tasks  # noqa: F401  (the tasks, and the worker's signal handlers)

    app.worker_main(["worker", "-Q", config.queue, "-n", f"{config.host}@%h",
                     "--concurrency", str(agent_config.worker_concurrency()),
                     "--loglevel", os.environ.get("LOG_LEVEL", "INFO"),
                     "--without-mingle", "--without-gossip", "--without-heartbeat"])
    return 0


def bridge(arguments) -> int:
    from console.agent import bridge as stream_bridge
    from console.agent.console_api import get_api
    from console.agent.engine import get_engine

    return stream_bridge.run(agent_config.current(), get_engine(), get_api())


def join(arguments) -> int:
    from console.agent.console_api import ConsoleRefused, Unreachable, Untrusted, join as exchange

    console = arguments.url.rstrip("/")
    if not console.startswith(("http://", "https://")):
        raise AgentError(f"{arguments.url}: the console's URL starts with https:// or http://")
    redis = arguments.redis
    if redis is not None and not redis.startswith(("redis://", "rediss://")):
        raise AgentError(f"--redis {redis}: Redis's URL starts with rediss:// or redis://")
    if arguments.ca:
        check_ca_file(arguments.ca)
    try:
        answer = exchange(console, arguments.token, arguments.ca)
    except Untrusted as error:
        trusted = f"the CA in {arguments.ca}" if arguments.ca else "the system's CAs"
        raise AgentError(f"the console's certificate at {console} is not signed by {trusted} "
                         f"for that name ({error.reason}): give the console's CA with --ca "
                         "FILE (its var/tls/ca.pem); the token was not used") from None
    except (ConsoleRefused, Unreachable) as error:
        raise AgentError(f"the console did not take the join token: {error}") from None
    path = agent_config.key_path()
    ca = None
    if arguments.ca:
        ca = os.path.join(os.path.dirname(os.path.abspath(path)), "ca.pem")
        if os.path.abspath(arguments.ca) != ca:
            os.makedirs(os.path.dirname(ca), mode=0o700, exist_ok=True)
            shutil.copyfile(arguments.ca, ca)
    agent_config.save(path, agent_config.HostConfig(
        host=answer["host"], console=console, key=answer["key"],
        redis=redis or answer["redis"], ca=ca))
    print(f"joined as host {answer['host']}; its key is in {path}")
    return 0


def check_ca_file(path: str) -> None:
    """`path` holds at least one CA certificate (PEM), or a clear AgentError."""
    try:
        context = ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise AgentError(f"--ca {path}: no such file") from None
    except (OSError, ssl.SSLError) as error:
        raise AgentError(f"--ca {path}: not a CA certificate file (PEM): {error}") from None
    if not context.get_ca_certs():
        raise AgentError(f"--ca {path}: holds no CA certificate")


def leave(arguments) -> int:
    from console.agent.console_api import ConsoleRefused, Revoked, Unreachable, get_api

    path = agent_config.key_path()
    host = agent_config.current().host
    try:
        get_api().leave()
    except Revoked:
        print(f"the console had revoked the key of host {host} already")
    except (ConsoleRefused, Unreachable) as error:
        raise AgentError(f"the console did not hear that host {host} leaves ({error}); the "
                         f"key is kept in {path}: try again") from None
    os.unlink(path)
    print(f"host {host} left the console; its key is forgotten")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.agent",
                                     description="The host's agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("worker", help="run the host's worker")
    commands.add_parser("bridge", help="run the host's stream bridge")
    joining = commands.add_parser("join", help="join a console with a join token")
    joining.add_argument("url")
    joining.add_argument("token")
    joining.add_argument("--ca", help="the CA file of the console's and Redis's certificates")
    joining.add_argument("--redis", help="where this host reaches Redis, if not where the "
                                         "console says")
    commands.add_parser("leave", help="leave the console")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return {"worker": worker, "bridge": bridge, "join": join,
                "leave": leave}[arguments.command](arguments)
    except AgentError as error:
        print(f"moorage agent: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
