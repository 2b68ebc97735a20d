"""The change log over the API: read-only, as the caller may see it."""

from django.db.models import QuerySet
from rest_framework import mixins, serializers

from api.base import RegistryViewSet
from core.filters import ChangeLogFilter
from core.models import ChangeLogEntry
from core.selectors import changes_visible_to


class ChangeLogEntrySerializer(serializers.ModelSerializer):
    """One write: who, in which request, what, and the object before and after."""

    before = serializers.DictField(
        read_only=True, allow_null=True, help_text="its fields before the write; null when it did not exist"
    )
    after = serializers.DictField(
        read_only=True, allow_null=True, help_text="its fields after the write; null when it no longer exists"
    )

    class Meta:
        model = ChangeLogEntry
        fields = [
            "id", "created_at", "actor_kind", "actor_id", "actor_name", "request_id", "action",
            "object_type", "object_id", "object_repr", "before", "after", "message",
        ]  # fmt: skip
        read_only_fields = fields


class ChangeLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """The change log, read-only: filter by object, actor, request and time."""

    serializer_class = ChangeLogEntrySerializer
    filterset_class = ChangeLogFilter
    queryset = ChangeLogEntry.objects.none()  # what the schema reads the model from; requests use get_queryset

    def get_queryset(self) -> QuerySet[ChangeLogEntry]:
        return changes_visible_to(self.principal)
