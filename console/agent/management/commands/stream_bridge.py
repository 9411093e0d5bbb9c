"""`manage.py stream_bridge`: serve this host's terminals and log follows (see
`console/agent/bridge.py`). Run next to the host's worker, with the same `MOORAGE_HOST` and
`MOORAGE_ROOT`."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve this host's container terminals and log follows over the Channels layer."

    def handle(self, *args, **options):
        if not settings.MOORAGE_HOST:
            raise CommandError("MOORAGE_HOST is not set: the bridge serves one host")
        from django.core.exceptions import ValidationError

        from console.hosts.models import validate_host_name

        try:
            validate_host_name(settings.MOORAGE_HOST)
        except ValidationError as error:
            raise CommandError(f"MOORAGE_HOST={settings.MOORAGE_HOST!r}: "
                               f"{error.messages[0]}") from None
        from console.agent import bridge
        from console.agent.engine import get_engine

        bridge.run(settings.MOORAGE_HOST, get_engine(), settings.TERMINAL_RESUME_SECONDS)
