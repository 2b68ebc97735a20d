"""``POST /api/v1/boms/``: a CycloneDX document in, checked in the request, applied by a job.

The body is read here, not by a DRF parser: up to ``BOM_UPLOAD_MAX_BYTES`` bytes (413 past it, told
by Content-Length before reading or while reading), so a document may be larger than the API's
``MAX_REQUEST_BYTES``. The Content-Type says JSON or XML (415 for any other); the document is parsed
safely and validated against its version's schema (``boms.ingest.parsing``): a refusal is 400
problem+json whose ``errors`` name each failing path in the document (or the line and column where
it stopped parsing), and nothing is stored. A valid one is stored with the ``bom_ingest`` job that
applies it: 202, ``Location`` the job's URL, the job as the body.

``GET /api/v1/boms/`` (a scope's document) is the BOM views' (``api.boms.views.BomViewSet``); this
viewset adds the POST to that route.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.boms.views import LOCATION, PROBLEM, BomViewSet
from api.errors import problem
from api.filtering import REPEATED, UNKNOWN
from api.inputs import StrictSerializer, text
from api.serializers import JobSerializer
from boms.ingest import parsing, uploads
from core.access import Capability

READ_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    pass


class IngestQuerySerializer(StrictSerializer):
    """``?environment=<name>``: register the document's system (``metadata.component``) as deployed there."""

    environment = text(50, required=False, allow_blank=True, default="")


def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read in chunks; ``BodyTooLarge`` once it (or its Content-Length) passes ``limit``."""
    django_request = request._request
    length = django_request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        raise BodyTooLarge
    if getattr(django_request, "_read_started", False) and hasattr(django_request, "_body"):
        body = django_request._body
        if len(body) > limit:
            raise BodyTooLarge
        return bytes(body)
    received = bytearray()
    while True:
        chunk = django_request.read(min(READ_CHUNK, limit + 1 - len(received)))
        if not chunk:
            break
        received += chunk
        if len(received) > limit:
            raise BodyTooLarge
    return bytes(received)


def _problems(rejected: parsing.BomRejected) -> Response:
    errors = []
    for found in rejected.problems:
        item = found.as_dict()
        item["field"] = found.path or "body"
        errors.append(item)
    first = rejected.problems[0] if rejected.problems else None
    location = {}
    if first is not None and not first.path and first.line is not None:
        location = {"line": first.line, "column": first.column}
    return problem(status.HTTP_400_BAD_REQUEST, str(rejected), errors=errors, **location)


_JSON_BODY = "the CycloneDX JSON document (1.4-1.7, by its specVersion)"
_XML_BODY = "the CycloneDX XML document (1.4-1.7, by the namespace of its bom element)"


class BomIngestViewSet(BomViewSet):
    """The BOM views, and the POST of a document to ingest."""

    capabilities = {**BomViewSet.capabilities, "ingest": Capability.REGISTER}

    @extend_schema(
        operation_id="v1_boms_create",
        parameters=[
            OpenApiParameter(
                "environment", {"type": "string", "maxLength": 50}, description="register the document's "
                "system (metadata.component) as deployed in this environment",
            ),
            LOCATION,
        ],
        request={
            "application/vnd.cyclonedx+json": {"type": "object", "description": _JSON_BODY},
            "application/json": {"type": "object", "description": _JSON_BODY},
            "application/vnd.cyclonedx+xml": {"type": "string", "description": _XML_BODY},
            "application/xml": {"type": "string", "description": _XML_BODY},
            "text/xml": {"type": "string", "description": _XML_BODY},
        },
        responses={
            (202, "application/json"): OpenApiResponse(
                JobSerializer,
                description="the document is valid and stored; the job that applies it (poll its URL, in Location)",
            ),
            (400, "application/problem+json"): OpenApiResponse(
                PROBLEM,
                description="the document is not valid (nothing stored): `errors` name each failing path in it "
                "(`field` / `path`: a JSONPath or an XML element path, `pointer`: a JSON Pointer) or the `line` "
                "and `column` where it stopped parsing; or a query parameter is invalid",
            ),
            (413, "application/problem+json"): OpenApiResponse(
                PROBLEM, description="the document is larger than BOM_UPLOAD_MAX_BYTES"
            ),
            (415, "application/problem+json"): OpenApiResponse(
                PROBLEM, description="the Content-Type is not CycloneDX JSON or XML"
            ),
        },
    )  # fmt: skip
    def ingest(self, request: Request) -> Response:
        """Ingest a CycloneDX document: validated now (400 naming the failing path), applied by a job (202)."""
        unknown = {name: [UNKNOWN] for name in sorted(request.query_params) if name != "environment"}
        repeated = {name: [REPEATED] for name, values in request.query_params.lists() if len(values) > 1}
        if unknown or repeated:
            raise DRFValidationError(unknown | repeated)
        query = IngestQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        media_type = request.content_type or ""
        try:
            parsing.media_format(media_type)
        except parsing.UnsupportedMediaType as refusal:
            return problem(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(refusal))
        limit = settings.BOM_UPLOAD_MAX_BYTES
        try:
            content = read_body(request, limit)
        except BodyTooLarge:
            return problem(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"the document is larger than the {limit} bytes a BOM upload may have (BOM_UPLOAD_MAX_BYTES)",
            )
        try:
            submitted = uploads.submit_bom(
                principal=self.principal,
                content=content,
                media_type=media_type,
                environment=query.validated_data.get("environment", ""),
            )
        except parsing.BomRejected as rejected:
            return _problems(rejected)
        body = JobSerializer(submitted.job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])})
