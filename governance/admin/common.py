"""What the governance admin pages share: the refusals a service may answer with, shown as text."""

from collections.abc import Callable

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.access import Principal, principal_for_user
from core.conflicts import Conflict

# What a service may refuse; anything else is a bug and may show as one.
REFUSALS = (PermissionDenied, Conflict, ValidationError)


def refusal_text(refusal: Exception) -> str:
    """A refusal as one line: a ValidationError's messages (with their fields), else its text."""
    if isinstance(refusal, ValidationError):
        if hasattr(refusal, "error_dict"):
            return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in refusal.message_dict.items())
        return " ".join(refusal.messages)
    return str(refusal) or refusal.__class__.__name__


def principal_of(request: HttpRequest) -> Principal:
    """The signed-in person as the services know them (role and team), read once per request."""
    cached = getattr(request, "_governance_principal", None)
    if cached is None or cached.person != request.user:
        cached = principal_for_user(request.user)
        request._governance_principal = cached  # type: ignore[attr-defined]
    return cached


class ReadOnlyInline(admin.TabularInline):
    """Rows shown inside another object's page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def state_now_filter(
    choices: list[tuple[str, str]], with_state: Callable[[QuerySet, str], QuerySet], explained: str
) -> type[admin.SimpleListFilter]:
    """A list filter by state as of now (``with_state`` of the selectors), as the API's ``state`` filter."""

    class StateNowFilter(admin.SimpleListFilter):
        __doc__ = explained
        title = "state (as of now)"
        parameter_name = "state"

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return list(choices)

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            return with_state(queryset, self.value()) if self.value() else queryset

    return StateNowFilter
