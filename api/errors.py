"""RFC 9457 problem details for every API error, with a field path and message per invalid input."""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def _field_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested error detail into ``{"field": "a.b.0", "message": ...}`` items."""
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _field_errors(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        return [{"field": path or "non_field_errors", "message": str(item)} for item in detail]
    if isinstance(detail, list):
        return [error for index, item in enumerate(detail) for error in _field_errors(item, f"{path}.{index}")]
    return [{"field": path or "non_field_errors", "message": str(detail)}]


def problem(status_code: int, detail: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code, "detail": detail}
    return Response({**body, **extra}, status=status_code, content_type=PROBLEM_JSON)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, re-shaped as problem details; an unexpected error is logged and answered 500."""
    if isinstance(exc, DjangoValidationError):  # a service refused the input
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):
        return problem(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "the request body is larger than the server accepts")
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in an API view", exc_info=exc)
        return problem(status.HTTP_500_INTERNAL_SERVER_ERROR, "the server could not complete the request")
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        result = problem(response.status_code, "the request has invalid fields", errors=errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        result = problem(response.status_code, str(detail))
    for header, value in response.items():
        if header.lower() in {"www-authenticate", "retry-after", "allow"}:
            result[header] = value
    return result
