"""The admin site, for superusers: users, teams with members and host grants, hosts. Every
change made here is audited explicitly, like the same change made through the API, and, as
there, the open sockets of the users it concerns re-check what they may do once it has
committed (the admin saves in a transaction of its own)."""
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction

from console import audit
from console.hosts.models import Host, HostGrant
from console.streams import publish
from console.teams.models import Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ["user", "role"]


class HostGrantInline(admin.TabularInline):
    model = HostGrant
    extra = 0
    fields = ["host"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at"]
    inlines = [MembershipInline, HostGrantInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record("team.change" if change else "team.create", request=request, team=obj,
                     target=obj, params={"fields": form.changed_data})
        if change:       # a pinned terminal user, say
            publish.permissions_changed_on_commit(obj.memberships.values_list("user_id", flat=True))

    def delete_model(self, request, obj):
        audit.record("team.delete", request=request, target=obj)
        publish.permissions_changed_on_commit(obj.memberships.values_list("user_id", flat=True))
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        team = form.instance
        for removed in formset.deleted_objects:
            if isinstance(removed, Membership):
                audit.record("team.member.remove", request=request, team=team,
                             target=removed.user)
                publish.permissions_changed_on_commit([removed.user_id])
            else:
                audit.record("team.host.revoke", request=request, team=team,
                             target=removed.host, host=removed.host)
                publish.permissions_changed_on_commit(
                    team.memberships.values_list("user_id", flat=True))
            removed.delete()
        for instance in instances:
            made = instance.pk is None
            if isinstance(instance, HostGrant):
                instance.granted_by = request.user
                instance.save()
                audit.record("team.host.grant", request=request, team=team,
                             target=instance.host, host=instance.host)
            else:
                instance.save()
                audit.record("team.member.add" if made else "team.member.role", request=request,
                             team=team, target=instance.user, params={"role": instance.role})
                publish.permissions_changed_on_commit([instance.user_id])
        formset.save_m2m()


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "last_seen", "runtime_version", "kernel_version"]
    readonly_fields = ["state", "last_seen", "worker", "engine_root", "runtime_version",
                       "kernel_version", "cpus", "memory"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record("host.change" if change else "host.create", request=request, target=obj,
                     host=obj)


User = get_user_model()
admin.site.unregister(User)
# Permissions come from team roles, not Django's groups: a group page would be a second,
# unaudited way to grant access.
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if "password" not in name]
        audit.record("user.change" if change else "user.create", request=request, target=obj,
                     params={"fields": changed})
        if change:       # deactivated, no longer a superuser: their sockets re-check
            publish.permissions_changed_on_commit([obj.pk])

    def delete_model(self, request, obj):
        audit.record("user.delete", request=request, target=obj)
        publish.permissions_changed_on_commit([obj.pk])
        super().delete_model(request, obj)

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                audit.record("user.password", request=request,
                             target=User.objects.get(pk=id))
        return response
