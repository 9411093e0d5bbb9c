"""`./moorage` itself, run as a user runs it, on a private instance: its own var directory
(MOORAGE_VAR), engine root, ports, host name and a temporary directory for the `moor` link
(MOORAGE_BIN_DIR), so that the machine's services, /var/lib/moorage and /usr/local/bin/moor
are never touched. What a test starts, it stops (`./moorage down`, then any PID it recorded),
and its engine root is reset."""
import grp
import json
import os
import pathlib
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import urllib.request

import pytest

from tests.stack import REPO, Api, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

SCRIPT = os.path.join(REPO, "moorage")
SERVICES = ("redis", "web", "scheduler", "worker", "bridge", "engine")
# Settings of whatever runs the tests, which must not leak into the private instance.
OUTSIDE = ("MOORAGE_", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SECRET_KEY",
           "CSRF_TRUSTED_ORIGINS", "DJANGO_SETTINGS_MODULE")


def private_env(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(OUTSIDE)}
    env.update({
        "MOORAGE_VAR": str(tmp_path / "var"),
        "MOORAGE_ROOT": str(tmp_path / "root"),
        "MOORAGE_BIN_DIR": str(tmp_path / "bin"),
        "MOORAGE_HOST": "scripted",
        "MOORAGE_PORT": str(free_port()),
        "MOORAGE_REDIS_PORT": str(free_port()),
        "MOORAGE_ENGINE_SOCKET": str(tmp_path / "engine.sock"),
    })
    return env


def moorage(env, *args, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=240)
    if check:
        assert done.returncode == 0, f"./moorage {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def pids(env, services=SERVICES) -> dict:
    run = os.path.join(env["MOORAGE_VAR"], "run")
    found = {}
    for name in services:
        try:
            with open(os.path.join(run, f"{name}.pid")) as handle:
                found[name] = int(handle.read())
        except FileNotFoundError:
            pass
    return found


def answers(env) -> bool:
    url = f"http://127.0.0.1:{env['MOORAGE_PORT']}/login/"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def engine_answers(env) -> bool:
    """The engine service's socket speaks Docker's API (its ping)."""
    import socket
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(env["MOORAGE_ENGINE_SOCKET"])
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n")
        return sock.recv(4096).startswith(b"HTTP/1.1 200")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def machine_link():
    """The machine's own `moor` link, which no test may change."""
    path = "/usr/local/bin/moor"
    before = os.readlink(path) if os.path.islink(path) else os.path.exists(path)
    yield
    after = os.readlink(path) if os.path.islink(path) else os.path.exists(path)
    assert after == before, "the machine's /usr/local/bin/moor was changed"


@pytest.fixture
def instance(tmp_path, machine_link):
    env = private_env(tmp_path)
    yield env
    moorage(env, "down", check=False)
    for pid in pids(env).values():        # what `down` could not stop, by the PIDs we made
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    subprocess.run([os.path.join(REPO, "bin", "moor"), "--root", env["MOORAGE_ROOT"], "system",
                    "reset", "--force"], capture_output=True, check=False)


def session_members(session: int) -> list[int]:
    """The processes of session `session` (a service started by `./moorage` leads its own)."""
    found = subprocess.run(["pgrep", "-s", str(session)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_up_skips_the_set_up_it_did_and_restart_replaces_one_service(instance):
    env = instance
    url = f"http://127.0.0.1:{env['MOORAGE_PORT']}/"
    first = moorage(env, "up").stdout
    assert "migrating the database" in first
    assert f"Moorage is up: {url}" in first
    assert "log in as admin, password: " in first
    assert answers(env) and engine_answers(env)
    assert os.readlink(os.path.join(env["MOORAGE_BIN_DIR"], "moor")) == os.path.join(
        REPO, "bin", "moor")

    # A crash: every service's main process gone at once. `up` starts them again without the
    # set-up, and ends what they had started (celery's pool and beat, which would go on
    # sending schedule ticks beside the new scheduler's).
    crashed = pids(env)
    wait_until(lambda: len(session_members(crashed["scheduler"])) > 1,
               what="the scheduler's pool and beat")
    sessions = {pid: session_members(pid) for pid in crashed.values()}
    for pid in crashed.values():
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(alive(pid) for pid in crashed.values()), what="the crash")
    again = moorage(env, "up").stdout
    left = {pid: [p for p in members if alive(p)] for pid, members in sessions.items()}
    assert not any(left.values()), f"left of the crashed services: {left}"
    assert "migrating" not in again and "bootstrapping" not in again
    assert f"Moorage is up: {url}" in again
    assert "log in with the admin account made on the first run" in again
    assert answers(env)

    # One service: a new process of it, the others untouched, the web server answering.
    before = pids(env)
    moorage(env, "restart", "web")
    after = pids(env)
    assert after["web"] != before["web"] and alive(after["web"])
    assert not alive(before["web"])
    assert {name: after[name] for name in ("redis", "worker", "bridge")} == {
        name: before[name] for name in ("redis", "worker", "bridge")}
    assert answers(env)
    for name in ("scheduler", "worker", "bridge", "engine", "redis"):
        before = pids(env)
        moorage(env, "restart", name)
        after = pids(env)
        assert after[name] != before[name] and alive(after[name]) and not alive(before[name])
        assert {other: pid for other, pid in after.items() if other != name} == {
            other: pid for other, pid in before.items() if other != name}

    # All of them.
    before = pids(env)
    moorage(env, "restart")
    after = pids(env)
    assert all(after[name] != before[name] and alive(after[name]) for name in SERVICES)
    status = moorage(env, "status").stdout
    assert all(f"{name}: running (pid {after[name]})" in status for name in SERVICES)
    assert answers(env)

    moorage(env, "down")
    assert not any(alive(pid) for pid in after.values())
    assert all(f"{name}: stopped" in moorage(env, "status").stdout for name in SERVICES)


def environment_of(pid: int) -> dict:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        pairs = [item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item]
    return {key.decode(): value.decode(errors="replace") for key, value in pairs}


def test_the_local_agent_holds_its_key_and_nothing_of_the_consoles(instance):
    """`up` gives this machine's host its key (var/host.key, 0600) and runs its agent as any
    host's: without the database URL, the secret key or Redis's password, which it has no
    need of to come online and take jobs."""
    env = instance
    out = moorage(env, "up").stdout
    password = out.split("password: ", 1)[1].split()[0]
    key_file = os.path.join(env["MOORAGE_VAR"], "host.key")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    with open(key_file) as handle:
        key = json.load(handle)
    assert key["host"] == "scripted" and key["key"].startswith("mhk_")
    with open(os.path.join(env["MOORAGE_VAR"], "redis", "password")) as handle:
        redis_password = handle.read().strip()
    with open(os.path.join(env["MOORAGE_VAR"], "secret_key")) as handle:
        secret_key = handle.read().strip()
    for name in ("worker", "bridge"):
        pid = pids(env)[name]
        environment = environment_of(pid)
        assert not {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} & set(environment), name
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            told = b" ".join(handle.read().split(b"\0")).decode() + " ".join(
                environment.values())
        assert redis_password not in told and secret_key not in told, name

    base = f"http://127.0.0.1:{env['MOORAGE_PORT']}"
    status, answer = Api(base).post("/api/auth/token/", {"username": "admin",
                                                         "password": password})
    assert status in (200, 201), answer
    admin = Api(base, answer["token"])

    def host():
        hosts = admin.get("/api/hosts/")[1]
        rows = hosts["results"] if isinstance(hosts, dict) else hosts
        return next(row for row in rows if row["name"] == "scripted")
    wait_until(lambda: host()["state"] == "online" and host()["joined"],
               what="the local host online through its agent")
    # Its job goes through the host API: a container runs.
    status, job = admin.post("/api/containers/?wait=1", {
        "image": "busybox", "host": "scripted", "name": "first", "cmd": ["sleep", "60"]})
    assert status in (200, 201, 202) and job["state"] == "succeeded", job
    status, job = admin.call("DELETE", "/api/containers/first/?force=1&wait=1")
    assert status in (200, 202) and job["state"] == "succeeded", job


def test_join_makes_this_machine_a_host_and_leave_takes_it_out(stack, instance):
    """`./moorage join URL TOKEN` with a token a superuser made: the machine's agent and engine
    service run with the host's key, the host comes online in the teams the token names and
    runs containers; the token is spent; `./moorage leave` stops them and revokes the key."""
    env = dict(instance, MOORAGE_HOST="ignored")   # the token names the host
    made = stack.admin.ok("POST", "/api/hosts/join-tokens/", {"name": "joined",
                                                              "teams": ["default"]})
    done = moorage(env, "join", stack.base, made["token"])
    assert "this machine is a host of" in done.stdout
    key_file = os.path.join(env["MOORAGE_VAR"], "host.key")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    for name in ("worker", "bridge"):
        assert "DATABASE_URL" not in environment_of(pids(env)[name])
    stack.wait_host_online("joined")
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "joined", "name": "on-joined", "cmd": ["sleep", "60"],
        "team": "default"})
    assert job["state"] == "succeeded", job
    assert os.path.isdir(os.path.join(env["MOORAGE_ROOT"], "containers", job["container"]))
    stack.admin.ok("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")

    again = moorage(dict(instance, MOORAGE_VAR=instance["MOORAGE_VAR"] + "-2"), "join",
                    stack.base, made["token"], check=False)
    assert again.returncode == 1 and "did not take the join token" in again.stderr

    before = pids(env)
    moorage(env, "leave")
    assert not any(alive(pid) for pid in before.values())
    assert not os.path.exists(key_file)
    assert not stack.host("joined")["joined"]


def test_restart_refuses_what_it_cannot_do(instance):
    nothing_yet = moorage(instance, "restart", "web", check=False)
    assert nothing_yet.returncode == 1
    assert "nothing to restart" in nothing_yet.stderr and "./moorage up" in nothing_yet.stderr
    unknown = moorage(instance, "restart", "daemon", check=False)
    assert unknown.returncode == 1
    assert "web, scheduler, worker, bridge, engine, redis or postgres" in unknown.stderr
    assert not pids(instance)


def test_the_moor_link_is_made_only_where_it_is_this_checkouts_to_make(tmp_path,
                                                                         machine_link):
    env = private_env(tmp_path)
    link = tmp_path / "bin" / "moor"
    ours = os.path.join(REPO, "bin", "moor")

    moorage(env, "install")                          # missing: made
    assert os.readlink(link) == ours

    link.unlink()                                    # dangling: its checkout was deleted
    link.symlink_to(tmp_path / "deleted-checkout" / "bin" / "moor")
    moorage(env, "install")
    assert os.readlink(link) == ours

    other = tmp_path / "other-checkout" / "bin" / "moor"   # another checkout's: left alone
    other.parent.mkdir(parents=True)
    other.write_text("#!/bin/sh\n")
    link.unlink()
    link.symlink_to(other)
    said = moorage(env, "install").stdout
    assert os.readlink(link) == str(other)
    lines = [line for line in said.splitlines() if str(link) in line]
    assert len(lines) == 1, said
    assert "another checkout's" in lines[0] and f"ln -sfn {ours} {link}" in lines[0]

    link.unlink()                                    # not a link at all: left alone
    link.write_text("#!/bin/sh\n")
    said = moorage(env, "install").stdout
    assert not link.is_symlink()
    assert f"ln -sfn {ours} {link}" in said


@pytest.fixture
def postgres_instance(machine_link):
    """A private instance whose var directory the postgres user can reach (under /tmp, not
    pytest's own temporary directory, which is closed to other users)."""
    top = tempfile.mkdtemp(prefix="moorage-script-pg-")
    os.chmod(top, 0o711)            # as a checkout's directory usually is
    env = private_env(pathlib.Path(top))
    env["MOORAGE_POSTGRES_PORT"] = str(free_port())
    yield env
    moorage(env, "down", check=False)
    for pid in pids(env, ("postgres",) + SERVICES).values():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    subprocess.run([os.path.join(REPO, "bin", "moor"), "--root", env["MOORAGE_ROOT"], "system",
                    "reset", "--force"], capture_output=True, check=False)
    shutil.rmtree(top, ignore_errors=True)


def test_up_with_postgres_runs_the_console_on_a_cluster_of_its_own(postgres_instance):
    import psycopg

    env = postgres_instance
    var, port = env["MOORAGE_VAR"], env["MOORAGE_POSTGRES_PORT"]
    first = moorage(env, "up", "--postgres").stdout
    assert "making a PostgreSQL cluster in " + os.path.join(var, "postgres", "data") in first
    assert f"its database: PostgreSQL on 127.0.0.1:{port}" in first
    assert answers(env)
    server = pids(env, ("postgres",))["postgres"]
    with open(f"/proc/{server}/status") as status:
        uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    assert int(uid) == pwd.getpwnam("postgres").pw_uid
    # var/ lets the postgres user through to its cluster and no further; the password is
    # root's alone.
    assert stat.S_IMODE(os.stat(var).st_mode) == 0o710
    assert grp.getgrgid(os.stat(var).st_gid).gr_name == "postgres"
    password = os.path.join(var, "postgres", "password")
    assert stat.S_IMODE(os.stat(password).st_mode) == 0o600 and os.stat(password).st_uid == 0
    with open(os.path.join(var, "env")) as settings:
        url = next(line.split("=", 1)[1].strip() for line in settings
                   if line.startswith("DATABASE_URL="))
    assert url.startswith("postgres://moorage:") and url.endswith(f"@127.0.0.1:{port}/moorage")
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT username FROM auth_user").fetchall() == [("admin",)]
    assert not os.path.exists(os.path.join(var, "moorage.sqlite3"))

    moorage(env, "down")
    assert not alive(server)
    assert "postgres: stopped" in moorage(env, "status").stdout
    # Once made, the cluster is this checkout's database: `up` starts it again, set up already.
    again = moorage(env, "up").stdout
    assert "making a PostgreSQL cluster" not in again and "migrating" not in again
    assert answers(env) and "postgres: running" in moorage(env, "status").stdout
    moorage(env, "restart", "postgres")
    assert answers(env)


def test_up_with_postgres_says_when_the_postgres_user_cannot_reach_var(instance):
    """pytest's temporary directory is closed to other users: the cluster cannot live there."""
    done = moorage(instance, "up", "--postgres", check=False)
    assert done.returncode == 1
    assert "the postgres user cannot reach" in done.stderr
    assert "set MOORAGE_POSTGRES_DATA" in done.stderr
    assert not pids(instance, ("postgres",) + SERVICES)
