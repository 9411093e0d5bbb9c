"""What the web side and every host's agent agree on about job notices, written once (pure: no
Django, no Celery; the agent imports it).

A notice is a Celery task message on the host's own queue, `host.<name>`, through Redis:

    console.jobs.execute(job_id)    a job row is waiting for the host: the agent claims it
                                    through the host API, which answers with what to do
    console.jobs.sync(host_name)    reconcile now (no job row)

A notice carries nothing else: a forged or replayed one can make a host do only what the
console's database says that host's job is (the claim of a job that is not the host's, or not
queued, is refused).

Each host's agent has a Redis user of its own that may touch exactly `broker_keys(name)` (its
queue and the keys kombu's Redis transport keeps about it), nothing else: no other host's
queue, no channel layer. The names of kombu's bookkeeping keys are set per host
(`transport_options`), so that no key is shared between hosts.
"""
EXECUTE_TASK = "console.jobs.execute"
SYNC_TASK = "console.jobs.sync"

# What a job keeps of its output (a pull's progress, a build's steps): its first and its last
# characters, with a line saying how much was left out between them.
OUTPUT_HEAD_CHARS = 192 * 1024
OUTPUT_TAIL_CHARS = 64 * 1024


def queue_name(host_name: str) -> str:
    return f"host.{host_name}"


def redis_user(host_name: str) -> str:
    """The Redis ACL user of a host's agent (its password is the host's key)."""
    return f"host-{host_name}"


def broker_keys(host_name: str) -> dict[str, str]:
    """Every Redis key a host's worker reads or writes, by its use."""
    queue = queue_name(host_name)
    return {"queue": queue,
            # kombu's routing table of the queue's exchange (one set per exchange)
            "binding": f"_kombu.binding.{queue}",
            "binding_permanent": f"_kombu.binding_permanent.{queue}",
            # messages delivered and not yet acknowledged, restored after a crash
            "unacked": f"unacked.{queue}",
            "unacked_index": f"unacked_index.{queue}",
            "unacked_mutex": f"unacked_mutex.{queue}"}


def transport_options(host_name: str) -> dict:
    """kombu's Redis transport options for a host's worker: its own bookkeeping keys, and
    one list per queue (no priority lists beside it, whose names the ACL would have to
    allow by pattern)."""
    keys = broker_keys(host_name)
    return {"visibility_timeout": 6 * 3600, "priority_steps": [0],
            "unacked_key": keys["unacked"], "unacked_index_key": keys["unacked_index"],
            "unacked_mutex_key": keys["unacked_mutex"]}


# The commands a worker consuming one queue sends (kombu's Redis transport: the queue's
# declaration, BRPOP, the unacked bookkeeping and its mutex (redis-py's lock: SET NX and a
# script), restoring unacknowledged messages; redis-py's HELLO, AUTH, PING): what a real worker
# needs under the ACL (every worker of tests/stack.py runs under it; tests/e2e/
# test_host_keys.py tries the rest). No KEYS, SCAN, pub/sub,
# CONFIG, ACL, FLUSH*, CLIENT KILL, nor any key but `broker_keys`.
REDIS_COMMANDS = (
    "hello", "auth", "ping", "select", "client|setname",
    "brpop", "lpush", "rpush", "llen", "del", "sadd", "smembers",
    "zadd", "zrem", "zrange", "zrangebyscore", "hset", "hget", "hdel", "set", "get",
    "multi", "exec", "discard", "watch", "unwatch", "eval", "evalsha", "script|load",
)


def acl_rules(host_name: str, key: str) -> list[str]:
    """`ACL SETUSER <redis_user(host_name)>` rules: on, the key as its password, the commands
    above on the host's keys alone, no pub/sub channel."""
    return (["reset", "on", f">{key}", "resetchannels", "-@all"]
            + [f"+{command}" for command in REDIS_COMMANDS]
            + [f"~{name}" for name in broker_keys(host_name).values()])
