"""Apply the audit retention setting (AUDIT_RETENTION_DAYS; unset = keep forever)."""
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from console.audit.models import AuditEntry


class Command(BaseCommand):
    help = "Delete audit entries older than AUDIT_RETENTION_DAYS (nothing when it is unset)."

    def handle(self, *args, **options):
        days = settings.AUDIT_RETENTION_DAYS
        if not days:
            self.stdout.write("AUDIT_RETENTION_DAYS is not set: audit entries are kept forever.")
            return
        count = AuditEntry.objects.prune_before(timezone.now() - timedelta(days=days))
        self.stdout.write(f"Pruned {count} audit entries older than {days} days.")
