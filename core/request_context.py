"""The request id: given to each request, carried into the work it causes, written on every log line."""

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and plain, so it cannot forge or break log lines.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_current_request_id: ContextVar[str] = ContextVar("request_id", default="")

access_log = logging.getLogger("registry.access")


def current_request_id() -> str:
    """The id of the request or task being served, or "" outside of one."""
    return _current_request_id.get()


@contextlib.contextmanager
def bound_request_id(request_id: str) -> Iterator[None]:
    """Make ``request_id`` current for the duration of the block."""
    token = _current_request_id.set(request_id)
    try:
        yield
    finally:
        _current_request_id.reset(token)


def _request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _ACCEPTABLE_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id (keeping a well-formed incoming one) and writes the access log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.monotonic()
        with bound_request_id(request_id):
            response = self.get_response(request)
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds the current request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
