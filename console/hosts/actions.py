"""What a superuser does to a host itself: asking it to sync now, and accepting the engine root
its worker reports."""
from django.db import transaction

from console import audit
from console.core.errors import Conflict
from console.core.permissions import refuse
from console.hosts.models import Host
from console.jobs import dispatch
from console.jobs.models import Job


def accept_root(user, host: Host, *, request=None) -> Host:
    """Take the engine root the host's worker now reports as the one its rows mirror: the next
    syncs may forget the rows that root does not have (after SYNC_MISSES of them). For a root
    moved on purpose; a worker started on the wrong root is better restarted on the right one."""
    if not user.is_superuser:
        refuse("host.accept_root", user, request, target=host, host=host,
               message="Only a superuser may accept a host's new engine root.")
    if not host.root_changed:
        raise Conflict(f"Host {host.name} reports the engine root its rows were made "
                              f"from ({host.synced_root or 'none recorded yet'}).")
    with transaction.atomic():
        previous = host.synced_root
        Host.objects.filter(pk=host.pk).update(synced_root=host.engine_root)
        host.synced_root = host.engine_root
        audit.record("host.accept_root", actor=user, request=request, target=host, host=host,
                     params={"root": host.engine_root, "previous": previous})
    return host


def sync(user, host, *, request=None) -> Job:
    """Ask a host to reconcile now (superusers)."""
    if not user.is_superuser:
        refuse("host.sync", user, request, target=host, host=host,
               message="Only a superuser may sync a host.")
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.SYNC, host=host, requested_by=user,
                                 target_id=str(host.pk), target_name=host.name)
        audit.record("host.sync", actor=user, request=request, target=host, host=host,
                     result="requested", job=job)
        dispatch.enqueue_on_commit(job)
    return job
