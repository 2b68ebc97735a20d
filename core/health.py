"""Health probes: ``/healthz`` (the process answers) and ``/readyz`` (its dependencies do).

They are answered by a middleware ahead of Django's host check, so an orchestrator or the
container's own healthcheck can probe ``127.0.0.1`` whatever ``ALLOWED_HOSTS`` says.
"""

import logging
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


def _database_error() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        logger.warning("readiness: database unreachable", extra={"error": str(exc)})
        return "unreachable"
    return ""


def _broker_error() -> str:
    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=settings.BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("readiness: broker unreachable", extra={"error": str(exc)})
        return "unreachable"
    return ""


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer; 503 naming each one that does not.

    Details of a failure go to the log, not to the caller.
    """
    errors = {"database": _database_error(), "broker": _broker_error()}
    failing = [name for name, error in errors.items() if error]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": {name: error or "ok" for name, error in errors.items()},
    }
    return JsonResponse(body, status=503 if failing else 200)


PROBES: dict[str, Callable[[HttpRequest], JsonResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthProbeMiddleware:
    """Answers GET /healthz and /readyz before any other middleware looks at the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
