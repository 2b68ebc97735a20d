"""RFC 9457 problem details for every API error, with a field path and message per invalid input."""

import json
import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, DisallowedHost, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from api.parsers import MalformedBody

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"


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


def _problem_body(status_code: int, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code, "detail": detail}
    return {**body, **extra}


def problem(status_code: int, detail: str, **extra: Any) -> Response:
    """A problem+json response, from a DRF view."""
    return Response(_problem_body(status_code, detail, **extra), status=status_code, content_type=PROBLEM_JSON)


def problem_response(status_code: int, detail: str, **extra: Any) -> HttpResponse:
    """A problem+json response from outside DRF (middleware, Django's error handlers): nothing renders it later."""
    body = json.dumps(_problem_body(status_code, detail, **extra))
    return HttpResponse(body, status=status_code, content_type=PROBLEM_JSON)


def _refused_request(exc: Exception) -> tuple[int, str]:
    """Status and detail for a request Django refuses as a bad request. A too-large body is 413, as the
    API documents it, although Django itself answers every one of these 400."""
    if isinstance(exc, RequestDataTooBig):
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "the request body is larger than the server accepts"
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return status.HTTP_400_BAD_REQUEST, f"the request has more than {limit} query parameters or form fields"
    if isinstance(exc, DisallowedHost):
        return status.HTTP_400_BAD_REQUEST, "the Host header names a host this server does not serve"
    return status.HTTP_400_BAD_REQUEST, "the request is malformed"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, re-shaped as problem details; an unexpected error is logged and answered 500."""
    if isinstance(exc, DjangoValidationError):  # a service refused the input
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    if isinstance(exc, SuspiciousOperation | BadRequest):  # e.g. too many query parameters, read in the view
        # Where Django's own handling would have logged it, so the security log misses nothing.
        logging.getLogger(f"django.security.{type(exc).__name__}").warning(str(exc))
        return problem(*_refused_request(exc))
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in an API view", exc_info=exc)
        return problem(status.HTTP_500_INTERNAL_SERVER_ERROR, "the server could not complete the request")
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        result = problem(response.status_code, "the request has invalid fields", errors=errors)
    elif isinstance(exc, MalformedBody):
        result = problem(response.status_code, str(exc.detail), **exc.location)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        result = problem(response.status_code, str(detail))
    for header, value in response.items():
        if header.lower() in {"www-authenticate", "retry-after", "allow"}:
            result[header] = value
    return result


def is_api_request(request: HttpRequest) -> bool:
    """Whether the request is for the API, whose errors are problem+json; the admin's stay HTML pages."""
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's ``handler400``: a disallowed Host, too many parameters, a too-large body read before a view."""
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    return problem_response(*_refused_request(exception))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's ``handler404``: paths under /api/ that no URL pattern matches (/api/v1/ has its own)."""
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return problem_response(status.HTTP_404_NOT_FOUND, f"no such API route: {request.path}")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``: an error outside an API view (a middleware, say) under /api/."""
    if not is_api_request(request):
        return defaults.server_error(request)
    return problem_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "the server could not complete the request")
