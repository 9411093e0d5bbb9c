"""First-run set-up, safe to repeat: the first admin (its password printed once), the local
host, and a default team granted that host."""
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from console import audit
from console.hosts.models import Host, HostGrant, validate_host_name
from console.teams.models import Membership, Team


class Command(BaseCommand):
    help = "Create the first admin, register a host and a default team (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--host", required=True, help="name of the local host")
        parser.add_argument("--admin", default="admin", help="username of the first admin")
        parser.add_argument("--team", default="default", help="the default team's name")
        parser.add_argument("--password-file",
                            help="also write the new admin's password here (mode 0600)")

    def handle(self, *args, host, admin, team, password_file=None, **options):
        try:
            validate_host_name(host)
        except ValidationError as error:
            raise CommandError(f"invalid host name {host!r}: {error.messages[0]}") from None
        User = get_user_model()
        with transaction.atomic():
            the_host, made_host = Host.objects.get_or_create(name=host)
            if made_host:
                audit.record("host.create", target=the_host, host=the_host,
                             params={"by": "moorage_init"})
            password = None
            if not User.objects.filter(is_superuser=True).exists():
                password = secrets.token_urlsafe(12)
                user = User.objects.create_superuser(admin, "", password)
                audit.record("user.create", target=user, params={"by": "moorage_init",
                                                                  "is_superuser": True})
            the_team, made_team = Team.objects.get_or_create(
                name=team, defaults={"description": "created at set-up"})
            if made_team:
                audit.record("team.create", team=the_team, target=the_team)
                first = User.objects.filter(is_superuser=True).order_by("pk").first()
                Membership.objects.get_or_create(user=first, team=the_team,
                                                 defaults={"role": "admin"})
            _, granted = HostGrant.objects.get_or_create(team=the_team, host=the_host)
            if granted:
                audit.record("team.host.grant", team=the_team, target=the_host, host=the_host)
        if password:
            self.stdout.write(f"admin-user: {admin}\nadmin-password: {password}")
            if password_file:
                import os

                fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(password + "\n")
        else:
            self.stdout.write("admin-user: (exists)")
