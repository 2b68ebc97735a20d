"""Request bodies sent without a Content-Length (``Transfer-Encoding: chunked``), which Django reads as empty."""

from collections.abc import Callable
from io import BytesIO
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from rest_framework import status

from api.errors import is_api_request, problem_response

LENGTH_REQUIRED = "send the body with a Content-Length: this server cannot read a chunked body"


def _read_to_end(stream: BinaryIO, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes: one more than allowed tells a too-large body without reading all of it."""
    body = bytearray()
    while len(body) <= limit:
        chunk = stream.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


class ChunkedBodyMiddleware:
    """Reads a chunked body so that Django and DRF see it, as if it had come with a Content-Length.

    Django takes a missing Content-Length for an empty body. A server that decodes the chunks and
    ends ``wsgi.input`` with the body says so with ``wsgi.input_terminated`` (gunicorn does): the
    body is read to its end then, bounded by ``MAX_REQUEST_BYTES`` (413 past it, as with a
    Content-Length). Without that promise reading could block or run into the chunk framing
    (Django's runserver), so the answer is 411.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if meta.get("CONTENT_LENGTH") or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.get_response(request)
        if not meta.get("wsgi.input_terminated"):
            if is_api_request(request):
                return problem_response(status.HTTP_411_LENGTH_REQUIRED, LENGTH_REQUIRED)
            return HttpResponse(LENGTH_REQUIRED, status=status.HTTP_411_LENGTH_REQUIRED, content_type="text/plain")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = _read_to_end(meta["wsgi.input"], limit)
        if len(body) > limit:
            # Django's own exception for a too-large body: handler400 answers it (413 under /api/).
            raise RequestDataTooBig("the chunked request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE")
        meta["CONTENT_LENGTH"] = str(len(body))
        # WSGIRequest wrapped wsgi.input with the length it saw (none, so 0) when it was made.
        request._stream = BytesIO(body)  # type: ignore[attr-defined]
        return self.get_response(request)
