"""Pagination: limit / offset by default (50, at most 500); ``?cursor=`` for stable cursor paging."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Cursor(CursorPagination):
    page_size_query_param = "limit"
    page_size = 50
    max_page_size = 500
    ordering = "-id"


class LimitOffsetOrCursor(LimitOffsetPagination):
    """Cursor paging when the client asks with ``?cursor=`` (empty for the first page), else limit / offset."""

    default_limit = 50
    max_limit = 500

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: APIView | None = None) -> list[Any] | None:
        self.cursor = Cursor() if "cursor" in request.query_params else None
        if self.cursor is not None:
            return self.cursor.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.cursor is not None:
            return self.cursor.get_paginated_response(data)
        return super().get_paginated_response(data)
