"""The real stack for end-to-end and browser tests, on free loopback ports in a temporary
directory: its own Redis (an ACL file, as `./moorage` writes it: the console's full user, and
a user per host made when the host gets its key; no persistence), a SQLite database (or, with
`database="postgres"`, a PostgreSQL cluster of its own: tests/postgres.py), daphne, per host
its agent as `./moorage up` runs it: a key made for it (`manage.py host_key`), a worker and a
stream bridge (`python -m console.agent worker|bridge`) on the host's own engine root, with
the key file and nothing of the console's settings, and, for the tests that ask for it
(`start_scheduler`), the scheduler (celery beat and the `console` queue's worker); all as
subprocesses whose PIDs we keep and end. With `tls=True`, as `./moorage up --tls`: a lab CA
made for the run (console/hosts/tls.py), daphne on https only and Redis on its TLS port only,
every client (the console's processes, the hosts' agents, the tests) checking the certificate
against the CA (`ca_file`, `ssl_context`).

Tests talk to it like any client: HTTP (`Api`), websockets, a browser.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PYTHON = sys.executable


# The console's settings, which no host's agent is given.
CONSOLE_ONLY = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE",
                "MOORAGE_VAR", "ALLOWED_HOSTS")

# The loopback address the end-to-end tests' registries listen on: the stack's console lets
# users pull from it (MOORAGE_PULL_ALLOW) and from no other address of the host.
TEST_REGISTRY_HOST = "127.0.0.77"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as error:  # not up yet
            last = error
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what} (last: {last!r})")


class Api:
    """A tiny JSON client with `Authorization: Token`."""

    def __init__(self, base: str, token: str | None = None, context=None):
        self.base = base
        self.token = token
        self.context = context      # an ssl.SSLContext for https://

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout,
                                        context=self.context) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def ok(self, method, path, body=None, expect=(200, 201, 202, 204)):
        status, answer = self.call(method, path, body)
        assert status in expect, f"{method} {path}: {status} {answer}"
        return answer


class Stack:
    def __init__(self, listen=(), database: str = "sqlite", tls: bool = False):
        """`listen`: addresses besides 127.0.0.1 where Redis and daphne listen (the machine's
        ends of network namespaces' links, for hosts that join from them: tests/netns.py).
        `tls`: https and rediss:// only, with a CA of the run's own (`ca_file`)."""
        if database not in ("sqlite", "postgres"):
            raise ValueError(f"no such database for the stack: {database!r}")
        self.listen = tuple(listen)
        self.database = database
        self.postgres = None         # the PostgreSQL cluster, with database="postgres"
        self.tmp = tempfile.mkdtemp(prefix="moorage-e2e-")
        self.processes = {}          # name -> Popen
        self.roots = {}              # host name -> engine root
        self.redis_port = free_port()
        self.web_port = free_port()
        self.redis_password = secrets.token_hex(16)
        self.tls = os.path.join(self.tmp, "tls") if tls else None
        self.ssl_context = None
        if self.tls:
            from console.hosts import tls as lab_ca

            lab_ca.ensure(self.tls, self.listen)
            self.ssl_context = ssl.create_default_context(cafile=self.ca_file)
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.web_port}"
        self.env = dict(os.environ)
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "MOORAGE_VAR": os.path.join(self.tmp, "var"),
            "DATABASE_URL": f"sqlite:///{self.tmp}/console.sqlite3",
            "REDIS_URL": f"redis{'s' if tls else ''}://:{self.redis_password}@127.0.0.1:"
                         f"{self.redis_port}/0",
            "ALLOWED_HOSTS": ",".join(("127.0.0.1", "localhost", *self.listen)),
            "MOORAGE_HEARTBEAT_SECONDS": "1",
            "MOORAGE_OFFLINE_AFTER_SECONDS": "5",
            "MOORAGE_SYNC_SECONDS": "2",
            "MOORAGE_PULL_ALLOW": TEST_REGISTRY_HOST,
            "PYTHONUNBUFFERED": "1",
        })
        self.env.pop("MOORAGE_CHANNEL_LAYER", None)
        self.env.pop("MOORAGE_AGENT_REDIS_URL", None)
        if self.tls:
            self.env["MOORAGE_REDIS_CA"] = self.ca_file
        else:
            self.env.pop("MOORAGE_REDIS_CA", None)
        self.admin_password = None
        self.admin = None

    @property
    def ca_file(self) -> str | None:
        return os.path.join(self.tls, "ca.pem") if self.tls else None

    def api(self, token=None) -> Api:
        return Api(self.base, token, context=self.ssl_context)

    # -- processes --

    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.tmp, f"{name}.log"), "ab")
        process = subprocess.Popen(argv, cwd=REPO, env=env or self.env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def end(self, name, sig=signal.SIGTERM, timeout=15):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)          # its own session: the process and children
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def manage(self, *args):
        return subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def moor(self, host, *args, check=True):
        return subprocess.run([PYTHON, "-m", "runtime", "--root", self.roots[host], *args],
                              cwd=REPO, env=self.env, check=check, capture_output=True,
                              text=True)

    # -- the stack --

    def redis_argv(self, bind=("127.0.0.1",)):
        """redis-server with an ACL file holding the console's user (the default one, with
        the password); the hosts' users are added to it as they get their keys."""
        acl = os.path.join(self.tmp, "users.acl")
        if not os.path.exists(acl):
            with open(acl, "w") as handle:
                handle.write(f"user default on >{self.redis_password} ~* &* +@all\n")
        ports = ["--port", str(self.redis_port)]
        if self.tls:
            ports = ["--port", "0", "--tls-port", str(self.redis_port),
                     "--tls-cert-file", os.path.join(self.tls, "server.pem"),
                     "--tls-key-file", os.path.join(self.tls, "server.key"),
                     "--tls-ca-cert-file", self.ca_file, "--tls-auth-clients", "no"]
        return ["redis-server", *ports, "--bind", *bind,
                "--aclfile", acl, "--save", "", "--appendonly", "no", "--dir", self.tmp,
                "--maxmemory-policy", "noeviction"]

    def start(self):
        self.spawn("redis", self.redis_argv(bind=("127.0.0.1", *self.listen)))
        wait_until(lambda: self._redis_ping(), what="redis")
        if self.database == "postgres":
            from tests.postgres import PostgresCluster

            self.postgres = PostgresCluster().start()
            self.env["DATABASE_URL"] = self.postgres.url
        self.manage("migrate", "--noinput", "-v", "0")
        out = self.manage("moorage_init", "--host", "e2e")
        self.admin_password = out.split("admin-password: ")[1].split()[0]
        endpoint = "tcp:port={port}:interface={address}"
        if self.tls:
            endpoint = "ssl:port={port}:interface={address}:privateKey={tls}/server.key:" \
                       "certKey={tls}/server.pem"
        endpoints = [argument for address in ("127.0.0.1", *self.listen) for argument in
                     ("-e", endpoint.format(port=self.web_port, address=address,
                                            tls=self.tls))]
        self.spawn("web", [os.path.join(VENV_BIN, "daphne"), *endpoints,
                           "console.asgi:application"])
        self.add_host("e2e")
        wait_until(lambda: urllib.request.urlopen(self.base + "/login/", timeout=2,
                                                  context=self.ssl_context).status == 200,
                   what="daphne")
        status, answer = self.api().post("/api/auth/token/", {
            "username": "admin", "password": self.admin_password})
        assert status == 201, answer
        self.admin = self.api(answer["token"])
        self.wait_host_online("e2e")
        return self

    def _redis_ping(self):
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as plain:
            sock = self.ssl_context.wrap_socket(plain, server_hostname="127.0.0.1") \
                if self.tls else plain
            sock.sendall(f"AUTH {self.redis_password}\r\nPING\r\n".encode())
            return b"PONG" in sock.recv(100) or b"PONG" in sock.recv(100)

    def add_host(self, name):
        """A host = an engine root with busybox, its key (as `./moorage up` makes the local
        host's), a worker consuming host.<name> and the host's stream bridge (terminals, log
        follows). A host the stack has already is left as it is (tests sharing a stack may
        each ask for it)."""
        if name in self.roots:
            return
        root = os.path.join(self.tmp, f"root-{name}")
        self.roots[name] = root
        self.moor(name, "image", "bootstrap", "busybox")
        self.manage("host_key", name, "--console", self.base, "--write", self.key_file(name),
                    *(("--ca", self.ca_file) if self.tls else ()))
        self.start_worker(name)
        self.start_bridge(name)

    def key_file(self, name):
        return os.path.join(self.tmp, f"host-{name}", "host.key")

    def agent_env(self, name, root=None, extra_env=None):
        """What a host's agent runs with: its key file and engine root, and none of the
        console's settings (no database, no secret key, no Redis password)."""
        env = {key: value for key, value in self.env.items() if key not in CONSOLE_ONLY}
        env.update(MOORAGE_HOST_KEY=self.key_file(name), MOORAGE_ROOT=root or self.roots[name],
                   MOORAGE_VAR=os.path.dirname(self.key_file(name)), **(extra_env or {}))
        return env

    def start_worker(self, name, root=None, extra_env=None):
        """The worker of host `name`, on its engine root (or on `root`, the wrong one), with
        `extra_env` added to its environment."""
        self.spawn(f"worker-{name}", [PYTHON, "-m", "console.agent", "worker"],
                   env=self.agent_env(name, root, dict({"MOORAGE_WORKER_CONCURRENCY": "2"},
                                                       **(extra_env or {}))))

    def start_scheduler(self, tick_seconds: float = 1.0):
        """The web side's scheduler (celery beat and the `console` queue's worker: scheduled
        actions), ticking every `tick_seconds`; started once, by the tests that need it."""
        if "scheduler" in self.processes:
            return
        env = dict(self.env, MOORAGE_SCHEDULE_TICK_SECONDS=str(tick_seconds))
        self.spawn("scheduler", [os.path.join(VENV_BIN, "celery"), "-A", "console.scheduler",
                                 "worker", "--beat", "-Q", "console", "-n", "scheduler@%h",
                                 "--concurrency", "1", "--loglevel", "INFO",
                                 "--schedule", os.path.join(self.tmp, "celerybeat-schedule"),
                                 "--without-mingle", "--without-gossip"], env=env)

    def start_bridge(self, name):
        self.spawn(f"bridge-{name}", [PYTHON, "-m", "console.agent", "bridge"],
                   env=self.agent_env(name))

    def kill_bridge(self, name):
        self.end(f"bridge-{name}", sig=signal.SIGKILL)

    def kill_worker(self, name):
        self.end(f"worker-{name}", sig=signal.SIGKILL)

    def host(self, name):
        results = self.admin.ok("GET", "/api/hosts/")["results"]
        return next((h for h in results if h["name"] == name), None)

    def wait_host_online(self, name, timeout=30):
        wait_until(lambda: (self.host(name) or {}).get("state") == "online", timeout=timeout,
                   what=f"host {name} online")

    def new_team(self, prefix: str, hosts=("e2e",)) -> dict:
        """A new team (its JSON, the name `prefix` and a random tail) granted `hosts`."""
        team = self.admin.ok("POST", "/api/teams/", {"name": prefix + secrets.token_hex(3)})
        for host in hosts:
            self.admin.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": host})
        return team

    def new_user(self, prefix: str = "u-", team: dict | None = None,
                 role: str | None = None) -> tuple[str, str, "Api"]:
        """A new user, a member of `team` (its JSON) with `role` when given, signed in to the
        API through a token of their own: (name, password, their Api)."""
        name, password = prefix + secrets.token_hex(3), secrets.token_urlsafe(16)
        self.admin.ok("POST", "/api/users/", {"username": name, "password": password})
        if team is not None:
            self.admin.ok("POST", f"/api/teams/{team['id']}/members/",
                          {"user": name, "role": role or "developer"})
        token = Api(self.base).ok("POST", "/api/auth/token/", {
            "username": name, "password": password})["token"]
        return name, password, Api(self.base, token)

    def default_team(self) -> dict:
        return next(team for team in self.admin.ok("GET", "/api/teams/")["results"]
                    if team["name"] == "default")

    def wait_job(self, job_id, api=None, timeout=60):
        api = api or self.admin
        return wait_until(lambda: (lambda j: j if j["state"] in ("succeeded", "failed")
                                   else None)(api.ok("GET", f"/api/jobs/{job_id}/")),
                          timeout=timeout, interval=0.05, what=f"job {job_id}")

    def log(self, name):
        with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as handle:
            return handle.read()

    def log_tails(self, lines: int = 30) -> list[tuple[str, str]]:
        """The last `lines` lines of each process's log, for a failing test's report."""
        tails = []
        for entry in sorted(os.listdir(self.tmp)):
            if entry.endswith(".log"):
                text = self.log(entry[:-len(".log")]).splitlines()[-lines:]
                tails.append((entry[:-len(".log")], "\n".join(text)))
        return tails

    def stop(self):
        for name in list(self.processes):
            if name.startswith(("worker-", "bridge-")) or name == "scheduler":
                self.end(name)
        self.end("web")
        for host in self.roots:
            self.moor(host, "system", "reset", "--force", check=False)
        self.end("redis")
        if self.postgres is not None:
            self.postgres.stop()
        self.unmount_leftovers()
        if os.environ.get("MOORAGE_KEEP_E2E"):
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def unmount_leftovers(self):
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts if f" {self.tmp}/" in line]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
