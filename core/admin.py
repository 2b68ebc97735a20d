"""Admin views of jobs and outbox messages: read-only, since workers own these rows."""

from django.contrib import admin
from django.http import HttpRequest

from core.models import ChangeLogEntry, Job, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows; never adds, edits or deletes them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs, newest first."""

    list_display = ["id", "kind", "state", "progress_done", "progress_total", "requested_by", "created_at"]
    list_filter = ["kind", "state"]
    search_fields = ["request_id"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Outbox messages, to see what waits for the broker."""

    list_display = ["id", "task_name", "state", "publish_count", "run_count", "available_at", "created_at"]
    list_filter = ["state", "task_name"]
    search_fields = ["request_id"]


@admin.register(ChangeLogEntry)
class ChangeLogEntryAdmin(ReadOnlyAdmin):
    """The change log: append-only, so read-only here too."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_repr", "request_id"]
    list_filter = ["action", "object_type", "actor_kind"]
    search_fields = ["object_id", "object_repr", "actor_name", "request_id"]
