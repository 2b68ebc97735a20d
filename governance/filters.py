"""FilterSets of governance's records, shared by the API and the portal."""

import django_filters
from django.db.models import QuerySet

from governance.models import AuditReview, ReviewKind, ReviewState
from governance.selectors import with_state
from inventory.filters import MAX_ID


class AuditReviewFilter(django_filters.FilterSet):
    """Reviews by model, state (as of now: a lapsed approval is expired), kind, people and due date."""

    model = django_filters.NumberFilter(field_name="model_id", min_value=1, max_value=MAX_ID)
    state = django_filters.ChoiceFilter(choices=ReviewState.choices, method="filter_state")
    kind = django_filters.ChoiceFilter(choices=ReviewKind.choices)
    reviewer = django_filters.CharFilter(
        field_name="reviewer_name", lookup_expr="iexact", label="who took or decided it"
    )
    requester = django_filters.CharFilter(field_name="requester_name", lookup_expr="iexact", label="who asked for it")
    due_before = django_filters.IsoDateTimeFilter(
        field_name="expires_at", lookup_expr="lt", label="approvals that run out before this time"
    )

    class Meta:
        model = AuditReview
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[AuditReview], name: str, value: str) -> QuerySet[AuditReview]:
        return with_state(queryset, value)
