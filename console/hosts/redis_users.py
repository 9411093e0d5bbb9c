"""Each host's own Redis user (`wire.redis_user`), whose password is the host's key: allowed
only what its worker needs to consume its own queue (`wire.acl_rules`), nothing of any other
host's queue and nothing of the channel layer. Made when a host gets its key, deleted (its
connections dropped with it) when the key is revoked. The web processes keep their full user
(`REDIS_URL`), which must be allowed `ACL SETUSER`, `ACL DELUSER` and `ACL SAVE`.

The users are saved to Redis's ACL file (`aclfile` in its configuration, as `./moorage`
writes it), so they outlive a restart of Redis; a Redis without one keeps them until it
restarts (a warning is logged).
"""
import logging

import redis
from django.conf import settings

from console.core.errors import RedisUnreachable
from console.jobs import wire

log = logging.getLogger(__name__)


def connection() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5,
                                **settings.REDIS_SSL)


def grant(host_name: str, key: str) -> None:
    """Make (or remake) the Redis user of host `host_name`, with `key` as its password."""
    run(lambda client: client.execute_command(
        "ACL", "SETUSER", wire.redis_user(host_name), *wire.acl_rules(host_name, key)))


def revoke(host_name: str) -> None:
    """Delete the Redis user of host `host_name`; Redis drops its connections with it."""
    run(lambda client: client.execute_command("ACL", "DELUSER", wire.redis_user(host_name)))


def run(change) -> None:
    try:
        with connection() as client:
            change(client)
            try:
                client.execute_command("ACL", "SAVE")
            except redis.ResponseError as error:
                log.warning("Redis keeps the hosts' users only until it restarts: %s", error)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise RedisUnreachable("Redis is unreachable: the host's Redis user could not be "
                               "changed, so nothing was.") from error
