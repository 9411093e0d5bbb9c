"""The mapping table and the directories' accounts on the admin site, read-only: the table is
changed on its page or through the API (`console.sso.actions`, audited), never unaudited."""
from django.contrib import admin

from console.sso.models import DirectoryIdentity, GroupMapping


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GroupMapping)
class GroupMappingAdmin(ReadOnly):
    list_display = ["source", "group", "team", "role", "created_by", "created_at"]
    list_filter = ["source", "role"]


@admin.register(DirectoryIdentity)
class DirectoryIdentityAdmin(ReadOnly):
    list_display = ["user", "source", "subject", "created_at"]
    list_filter = ["source"]
