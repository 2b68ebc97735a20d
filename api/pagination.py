"""Pagination: limit / offset by default (50, at most 500); ``?cursor=`` for stable cursor paging.

A malformed ``limit``, ``offset`` or ``cursor`` is a 400 naming it (DRF would quietly use the default).
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor as CursorPosition
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

LIMIT = "limit"
OFFSET = "offset"
CURSOR = "cursor"
INVALID_CURSOR = "not a cursor this API gave out"


def _whole_number(request: Request, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """The query parameter ``name`` as a whole number of at least ``minimum``, capped at ``maximum``;
    ``default`` when it is absent or empty (as an empty filter is no filter)."""
    value = request.query_params.get(name, "")
    if not value:
        return default
    try:
        # Plain ASCII digits only: int() would also take " 5", "1_0" and other scripts' digits.
        number = int(value) if value.isascii() and value.isdigit() else None
    except ValueError:  # more digits than Python converts
        number = None
    if number is None or number < minimum:
        raise ValidationError({name: [f"a whole number of at least {minimum}"]})
    return min(number, maximum) if maximum is not None else number


class Cursor(CursorPagination):
    """Cursor paging by id, newest first; ``limit`` sets the page size."""

    page_size_query_param = LIMIT
    cursor_query_param = CURSOR
    page_size = 50
    max_page_size = 500
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        return _whole_number(request, LIMIT, default=self.page_size, minimum=1, maximum=self.max_page_size)

    def decode_cursor(self, request: Request) -> CursorPosition | None:
        """DRF's decoding, but a cursor it cannot read is a 400 naming ``cursor`` (DRF says 404), as is one
        whose position is not an id (the ordering): that one would fail in the query, a 500."""
        try:
            decoded = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({CURSOR: [INVALID_CURSOR]}) from None
        position = decoded.position if decoded is not None else None
        if position is not None and not (position.isascii() and position.isdigit()):
            raise ValidationError({CURSOR: [INVALID_CURSOR]})
        return decoded


class LimitOffsetOrCursor(LimitOffsetPagination):
    """Cursor paging when the client asks with ``?cursor=`` (empty for the first page), else limit / offset."""

    default_limit = 50
    max_limit = 500
    limit_query_param = LIMIT
    offset_query_param = OFFSET
    # The query parameters it reads, which api.filtering.StrictFilterBackend accepts besides filters.
    query_params = frozenset({LIMIT, OFFSET, CURSOR})

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: APIView | None = None) -> list[Any] | None:
        self.cursor = Cursor() if CURSOR in request.query_params else None
        if self.cursor is not None:
            self.get_offset(request)  # unused by cursor paging, but a malformed one is still refused
            return self.cursor.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.cursor is not None:
            return self.cursor.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """``limit`` and ``offset`` with the bounds they are checked against (a larger ``limit`` is capped,
        not refused), and ``cursor``."""
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"]["minimum"] = 1
        offset["schema"]["minimum"] = 0
        cursor = {
            "name": CURSOR,
            "required": False,
            "in": "query",
            "description": "cursor paging, newest first: empty for the first page, then a next or previous link's",
            "schema": {"type": "string"},
        }
        return [limit, offset, cursor]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Both kinds of page: ``count`` is on limit / offset pages only."""
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["results"]
        return page

    def get_limit(self, request: Request) -> int:
        return _whole_number(request, LIMIT, default=self.default_limit, minimum=1, maximum=self.max_limit)

    def get_offset(self, request: Request) -> int:
        return _whole_number(request, OFFSET, default=0, minimum=0)
