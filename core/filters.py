"""FilterSets of core's records, shared by every interface."""

import django_filters

from core.models import ChangeLogEntry


class ChangeLogFilter(django_filters.FilterSet):
    """The change log by object, actor, request, action and time."""

    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ChangeLogEntry
        fields = ["object_type", "object_id", "actor_kind", "actor_id", "actor_name", "request_id", "action"]
