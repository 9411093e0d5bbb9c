"""A PostgreSQL cluster of the tests' own: Debian's PostgreSQL (`initdb`, then the server), in a
private data directory under a temporary directory, on a free loopback port, run as the
`postgres` user (the server refuses to run as root) and ended by its PID. Its superuser is
`moorage`, with a random password; the console's database is `moorage`.

`tests/stack.py` runs the console on it (`Stack(database="postgres")`): the multi-host tests
do, as several machines sharing one console would.
"""
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile

from tests.stack import free_port, wait_until

OWNER = "postgres"      # the operating-system user Debian's packages make for the server


def server_binaries() -> str | None:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/15/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit()
                   else 0)
    return os.path.dirname(found[-1]) if found else None


def missing() -> str | None:
    """Why no cluster can be made here, or None."""
    if os.geteuid() != 0:
        return "a private PostgreSQL cluster needs root (to run the server as postgres)"
    if server_binaries() is None:
        return "PostgreSQL is not installed (./moorage install installs Debian's postgresql)"
    try:
        pwd.getpwnam(OWNER)
    except KeyError:
        return f"there is no {OWNER} user (Debian's postgresql package makes it)"
    return None


class PostgresCluster:
    def __init__(self):
        self.bin = server_binaries()
        self.dir = tempfile.mkdtemp(prefix="moorage-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.process = None
        owner = pwd.getpwnam(OWNER)
        self.uid, self.gid = owner.pw_uid, owner.pw_gid
        os.chown(self.dir, self.uid, self.gid)

    @property
    def url(self) -> str:
        return f"postgres://moorage:{self.password}@127.0.0.1:{self.port}/moorage"

    def as_owner(self, argv, **kwargs):
        return subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[],
                              cwd=self.dir, check=True, capture_output=True, text=True,
                              **kwargs)

    def start(self) -> "PostgresCluster":
        password_file = os.path.join(self.dir, "password")
        with open(os.open(password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(self.password)
        os.chown(password_file, self.uid, self.gid)
        self.as_owner([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "moorage",
                       f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                       "--auth-local=peer", "-E", "UTF8", "--locale=C.UTF-8"])
        os.unlink(password_file)
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        # A test cluster: nothing of it must survive a crash, so nothing waits for the disk.
        self.process = subprocess.Popen(
            [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            user=self.uid, group=self.gid, extra_groups=[], cwd=self.dir, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._ready, timeout=30, what="postgres")
        self.sql("postgres", "CREATE DATABASE moorage")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"postgres ended ({self.process.returncode}): {self.log()}")
        return subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port)]).returncode == 0

    def sql(self, database: str, statement: str) -> str:
        import psycopg

        url = self.url.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else ""

    def log(self) -> str:
        with open(os.path.join(self.dir, "postgres.log"), errors="replace") as handle:
            return handle.read()[-3000:]

    def stop(self) -> None:
        """A fast shutdown (SIGINT: open sessions are ended), then the directory goes."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
