"""Query parameters: each one a list endpoint accepts is one it declares, so a misspelt filter is an
error rather than a silently unfiltered (and complete) answer."""

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

if TYPE_CHECKING:  # importing it at run time would be circular: DRF's generics load this module
    from rest_framework.generics import GenericAPIView

UNKNOWN = "unknown query parameter"
REPEATED = "given more than once"


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing (400, naming each) query parameters given more than once, and
    those that are none of: the view's FilterSet's filters, its paginator's ``query_params``, the view's
    ``extra_query_params`` (parameters it reads itself, e.g. ``{"ordering"}``)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: "GenericAPIView") -> QuerySet:
        accepted = self.accepted_query_params(queryset, view)
        errors = {name: [UNKNOWN] for name in sorted(request.query_params) if name not in accepted}
        # Each takes one value: of several, Django would quietly use the last.
        errors |= {name: [REPEATED] for name, values in request.query_params.lists() if len(values) > 1}
        if errors:
            raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)

    def accepted_query_params(self, queryset: QuerySet, view: "GenericAPIView") -> set[str]:
        """Every query parameter ``view`` accepts."""
        filterset_class = self.get_filterset_class(view, queryset)
        filters = set(filterset_class.base_filters) if filterset_class is not None else set()
        paging = getattr(view.paginator, "query_params", frozenset())  # none when the view does not paginate
        return filters | paging | set(getattr(view, "extra_query_params", ()))
