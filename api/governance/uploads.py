"""A size limit on evidence uploads that stops reading as soon as a file passes it, instead of
storing a file of any size in a temporary folder first."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from rest_framework.request import Request


class EvidenceSizeLimit(FileUploadHandler):
    """First in the request's upload handlers: passes each chunk on to Django's own handlers, and
    stops the upload (the rest of the body is read and dropped) once a file passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.exceeded = False

    @classmethod
    def install(cls, request: Request | HttpRequest) -> "EvidenceSizeLimit":
        """Put the limit in front of the request's handlers; call before the body is read (the API's
        request or the portal's, whose view is exempt from the CSRF middleware so that it can)."""
        handler = cls(settings.AUDIT_EVIDENCE_MAX_BYTES)
        request.upload_handlers.insert(0, handler)
        return handler

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file

    def message(self) -> str:
        return f"file: larger than the {self.limit} bytes a piece of evidence may have"
