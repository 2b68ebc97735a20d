"""Admin views of jobs and outbox messages: read-only, since workers own these rows."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.access import set_user_access
from core.changelog import Actor
from core.models import ApiToken, ChangeLogEntry, Job, OutboxMessage, UserAccess
from core.tokens import revoke_token

# The admin is titled as the product, not as "Django administration".
admin.site.site_header = "Model Provenance Registry"
admin.site.site_title = "Model Provenance Registry"
admin.site.index_title = "Administration"


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


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """API tokens: listed here and revoked here; created with ``manage.py create_token`` (shown once)."""

    list_display = ["name", "role", "team", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "team"]
    search_fields = ["name"]
    exclude = ["secret_sha256"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            revoke_token(actor=Actor.for_user(request.user), token=token)


@admin.register(UserAccess)
class UserAccessAdmin(admin.ModelAdmin):
    """People's roles and teams."""

    list_display = ["user", "role", "team"]
    list_filter = ["role", "team"]
    actions = None

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: UserAccess, form: object, change: bool) -> None:
        saved = set_user_access(actor=Actor.for_user(request.user), user=obj.user, role=obj.role, team=obj.team)
        obj.pk = saved.pk
