"""`manage.py host_key NAME --console URL --write PATH`: give host NAME its key and write the
agent's key file (the format `console/agent/config.py` reads), as a join would. What
`./moorage up` does for the machine the console runs on, whose agent is like any other host's:
it holds its key, not the database. With `--keep`, a key file that the console still takes
keeps its key; where it reaches the console and Redis, and the CA, are written again as given
(after `./moorage up --tls`, the same key over https:// and rediss://)."""
import json
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from console import audit
from console.core.errors import ConsoleError
from console.hosts import keys
from console.hosts.models import Host, HostKey, digest, validate_host_name


class Command(BaseCommand):
    help = "Give a host its key and write its agent's key file."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the host's name")
        parser.add_argument("--console", required=True, help="where the agent reaches the "
                                                             "console (its URL)")
        parser.add_argument("--write", required=True, help="the key file to write (0600)")
        parser.add_argument("--redis", help="where the agent reaches Redis, without "
                                            "credentials (default: MOORAGE_AGENT_REDIS_URL)")
        parser.add_argument("--ca", help="the CA file of the console's and Redis's "
                                         "certificates")
        parser.add_argument("--keep", action="store_true",
                            help="leave a key file the console still takes as it is")

    def handle(self, *args, name, console, write, redis=None, ca=None, keep=False, **options):
        from django.conf import settings

        try:
            validate_host_name(name)
        except ValidationError as error:
            raise CommandError(f"invalid host name {name!r}: {error.messages[0]}") from None
        where = {"console": console.rstrip("/"), "redis": redis or settings.AGENT_REDIS_URL,
                 "ca": os.path.abspath(ca) if ca else None}
        kept = self.still_taken(write, name) if keep else None
        if kept:
            try:        # its Redis user too, should Redis have lost it
                keys.redis_users.grant(name, kept)
            except ConsoleError as error:
                raise CommandError(error.message) from None
            write_key_file(write, {"host": name, "key": kept, **where})
            self.stdout.write(f"host {name}: its key file {write} stands")
            return
        try:
            with transaction.atomic():
                host, made = Host.objects.get_or_create(name=name)
                if made:
                    audit.record("host.create", target=host, host=host,
                                 params={"by": "host_key"})
                key = keys.issue_key(host)
                audit.record("host.key", target=host, host=host, params={"by": "host_key"})
                write_key_file(write, {"host": name, "key": key, **where})
        except ConsoleError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"host {name}: a new key, in {write}")

    @staticmethod
    def still_taken(path: str, name: str) -> str | None:
        """The key in the file at `path`, if it is host `name`'s and the console takes it."""
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        key = str(data.get("key") or "")
        taken = data.get("host") == name and HostKey.objects.filter(
            host__name=name, digest=digest(key)).exists()
        return key if taken else None


def write_key_file(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    temporary = f"{path}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
    os.replace(temporary, path)
