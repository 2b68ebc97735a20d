"""API views of BOMs: a model's document, a scope's document (organization, system, team, environment),
and the files BOM jobs store. Each maps the request to ``boms.services`` and the outcome to a response.

The format is chosen by ``Accept`` (``boms.services.negotiate``): CycloneDX JSON or XML, version 1.6
or 1.7; none, ``*/*`` or ``application/json`` is JSON 1.6; anything else is 406. A scope of up to
``BOM_INLINE_MAX_MODELS`` models is answered 200 with the document (validated whole before the first
byte is sent: a failure is a 500 problem, never half a document); a larger one is 202 with the job
(``Location``) whose result's ``download_url`` is ``GET /api/v1/boms/files/{job id}/``.
"""

import logging
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAcceptable, NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import RegistryViewSet
from api.errors import problem
from api.filtering import REPEATED, UNKNOWN
from api.inputs import StrictSerializer, text
from api.serializers import JobSerializer
from boms import services
from boms.documents import Scope, ScopeNotFound
from boms.validation import BomInvalid
from boms.xml import XmlConversionError, XmlValidationError
from inventory.filters import MAX_ID

logger = logging.getLogger(__name__)

PROBLEM = {"$ref": "#/components/schemas/Problem"}  # added to the schema by api.schema.add_problem_responses
MEDIA_TYPES = {
    "application/vnd.cyclonedx+json": "CycloneDX JSON (`Accept: application/vnd.cyclonedx+json; version=1.6` or "
    "`1.7`; no Accept, `*/*` and `application/json` give 1.6); the Content-Type names the version",
    "application/vnd.cyclonedx+xml": "CycloneDX XML (`Accept: application/vnd.cyclonedx+xml; version=1.6` or `1.7`)",
}
LOCATION = OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=[202], description="the job's URL")
DISPOSITION = OpenApiParameter(
    "Content-Disposition", str, OpenApiParameter.HEADER, response=[200], description="attachment with a file name"
)


class BomAcceptIgnored(BaseContentNegotiation):
    """``Accept`` names the document's format, which the view chooses itself (``boms.services.negotiate``);
    DRF's renderer (for errors, always problem+json) is the JSON one whatever the client accepts."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class BomQuerySerializer(StrictSerializer):
    """``?scope=organization|system|team|environment&name=<name>`` (a name for all but the organization)."""

    scope = serializers.ChoiceField(choices=services.REQUEST_SCOPES)
    name = text(100, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["scope"] in services.NAMED_SCOPES and not attrs["name"]:
            raise serializers.ValidationError({"name": f"required for the {attrs['scope']} scope"})
        if attrs["scope"] == "organization" and attrs["name"]:
            raise serializers.ValidationError({"name": "the organization scope takes no name"})
        return attrs


def _document_responses(scope_text: str) -> dict[Any, OpenApiResponse]:
    responses: dict[Any, OpenApiResponse] = {
        (200, media): OpenApiResponse(
            OpenApiTypes.OBJECT if media.endswith("json") else OpenApiTypes.STR,
            description=f"{scope_text}, valid against the official schema of its version: {text_}",
        )
        for media, text_ in MEDIA_TYPES.items()
    }
    responses[(202, "application/json")] = OpenApiResponse(
        JobSerializer,
        description="the scope has more models than BOM_INLINE_MAX_MODELS: a job writes the document; its "
        "URL is in Location, and once it has succeeded its result's `download_url` serves the file",
    )
    responses[(406, "application/problem+json")] = OpenApiResponse(
        PROBLEM, description="Accept names no format written here (e.g. CycloneDX 1.5, or text/html)"
    )
    responses[(500, "application/problem+json")] = OpenApiResponse(
        PROBLEM, description="the document failed validation (a fault of the registry's; nothing else was sent)"
    )
    return responses


class BomViewSet(RegistryViewSet):
    """CycloneDX BOMs of a model, of a scope, and the files of BOM jobs."""

    content_negotiation_class = BomAcceptIgnored
    renderer_classes = [JSONRenderer]
    pagination_class = None
    filter_backends: list[Any] = []
    serializer_class = JobSerializer  # what a 202 carries

    def _answer(self, request: Request, scope: Scope) -> Any:
        try:
            fmt = services.negotiate(request.headers.get("Accept"))
        except services.UnacceptableFormat as refusal:
            raise NotAcceptable(str(refusal)) from None
        try:
            outcome = services.produce_bom(principal=self.principal, scope=scope, fmt=fmt)
        except ScopeNotFound as missing:
            raise NotFound(str(missing)) from None
        except (BomInvalid, XmlValidationError, XmlConversionError) as invalid:
            logger.exception("the %s BOM failed validation", scope.key)
            return problem(
                status.HTTP_500_INTERNAL_SERVER_ERROR,
                f"the registry could not write a valid CycloneDX document for this scope: {invalid}",
            )
        if outcome.job is not None:
            body = JobSerializer(outcome.job, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])})
        bom = outcome.inline
        assert bom is not None
        response = FileResponse(bom.file, as_attachment=True, filename=bom.filename, content_type=bom.format.media_type)
        response["Content-Length"] = str(bom.size)
        return response

    @extend_schema(
        operation_id="v1_models_bom_retrieve",
        parameters=[
            OpenApiParameter(
                "id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH,
                description="the model's id",
            ),
            DISPOSITION,
            LOCATION,
        ],
        responses=_document_responses("the model (at its latest revision) and its registered ancestors"),
    )  # fmt: skip
    def model(self, request: Request, pk: str) -> Any:
        """The CycloneDX BOM of one model with its registered ancestors (every one a top-level component)."""
        if not pk.isdigit() or not 1 <= int(pk) <= MAX_ID:
            raise NotFound(f"no model #{pk}")
        return self._answer(request, Scope.of_model(int(pk)))

    @extend_schema(
        operation_id="v1_boms_retrieve",
        parameters=[
            OpenApiParameter(
                "scope", str, enum=list(services.REQUEST_SCOPES), required=True,
                description="what the document covers (one model: GET /api/v1/models/{id}/bom/)",
            ),
            OpenApiParameter(
                "name", {"type": "string", "maxLength": 100}, description="the system, team or environment "
                "(required for those scopes; none for the organization)",
            ),
            DISPOSITION,
            LOCATION,
        ],
        responses=_document_responses(
            "the scope's models, each a top-level component (a system: deployed at their revisions, the system "
            "as metadata.component and the dependency graph), with their registered ancestors"
        ),
    )  # fmt: skip
    def scope(self, request: Request) -> Any:
        """The CycloneDX BOM of the organization, a system, a team or an environment."""
        unknown = {name: [UNKNOWN] for name in sorted(request.query_params) if name not in ("scope", "name")}
        repeated = {name: [REPEATED] for name, values in request.query_params.lists() if len(values) > 1}
        if unknown or repeated:
            raise DRFValidationError(unknown | repeated)
        query = BomQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return self._answer(request, Scope(query.validated_data["scope"], query.validated_data["name"]))

    @extend_schema(
        operation_id="v1_boms_files_retrieve",
        parameters=[
            OpenApiParameter(
                "id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH,
                description="the BOM job's id",
            ),
            DISPOSITION,
        ],
        responses={
            **{
                (200, media): OpenApiResponse(
                    OpenApiTypes.OBJECT if media.endswith("json") else OpenApiTypes.STR,
                    description="the document the job stored, of the format it was asked for",
                )
                for media in MEDIA_TYPES
            },
        },
    )  # fmt: skip
    def file(self, request: Request, pk: str) -> FileResponse:
        """The file a BOM job stored; 404 until the job has succeeded."""
        if not pk.isdigit() or not 1 <= int(pk) <= MAX_ID:
            raise NotFound(f"no BOM job #{pk}")
        try:
            stored = services.stored_bom(principal=self.principal, job_id=int(pk))
        except services.BomFileNotReady as missing:
            raise NotFound(str(missing)) from None
        return FileResponse(stored.file, as_attachment=True, filename=stored.filename, content_type=stored.media_type)
