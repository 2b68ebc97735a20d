"""Admin views of jobs and outbox messages: read-only, since workers own these rows."""

from django.contrib import admin
from django.http import HttpRequest

from core.models import Job, OutboxMessage


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
