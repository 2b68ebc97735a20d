"""API views of audit reviews: each action maps its request to one service or selector call."""

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import RegistryViewSet
from api.errors import problem
from api.filtering import REPEATED
from api.governance.serializers import (
    AuditRequestSerializer,
    AuditReviewSerializer,
    CoverageQuerySerializer,
    CoverageSerializer,
    DecisionSerializer,
    EvidenceFileSerializer,
    EvidenceLinkSerializer,
    EvidenceSerializer,
)
from api.governance.uploads import EvidenceSizeLimit
from api.parsers import JSONParser
from api.renderers import OctetStreamOrProblem
from core.access import Capability
from governance import services
from governance.filters import AuditReviewFilter
from governance.models import AuditReview, Evidence
from governance.selectors import coverage, recorded_revision, reviews_for_listing
from inventory.filters import MAX_ID
from inventory.models import AIModel
from inventory.selectors import latest_revision

logger = logging.getLogger(__name__)
PROBLEM = {"$ref": "#/components/schemas/Problem"}  # added to the schema by api.schema.add_problem_responses


def conflict(description: str) -> dict[tuple[int, str], OpenApiResponse]:
    """A 409 answer (``core.conflicts.Conflict``) as problem+json."""
    return {(409, "application/problem+json"): OpenApiResponse(PROBLEM, description=description)}


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Audit reviews: request (anyone who reads), take and decide (auditors), withdraw (who asked),
    evidence, and what a model's reviews cover."""

    serializer_class = AuditReviewSerializer
    filterset_class = AuditReviewFilter
    capabilities = {"take": Capability.AUDIT, "decide": Capability.AUDIT}
    upload_limit: EvidenceSizeLimit  # set for POST evidence (initialize_request)

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        """The upload limit goes in before anything reads the body: authenticating a session reads the
        form already (Django's CSRF check looks for its token there), before the view would."""
        wrapped = super().initialize_request(request, *args, **kwargs)
        if self.action == "evidence" and request.method == "POST":
            self.upload_limit = EvidenceSizeLimit.install(wrapped)
        return wrapped

    def get_queryset(self) -> QuerySet[AuditReview]:
        return reviews_for_listing()

    def _review_response(self, review: AuditReview, **extra: Any) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data, **extra)

    @extend_schema(
        request=AuditRequestSerializer,
        responses={201: AuditReviewSerializer, **conflict("a review of this kind and pin waits for its decision")},
    )
    def create(self, request: Request) -> Response:
        """Ask for a review; 409 while one of the same kind and pin waits for its decision."""
        wanted = AuditRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        review = services.request_review(principal=self.principal, **wanted.validated_data)
        body = self.get_serializer(self.get_queryset().get(pk=review.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": str(body["links"]["self"])})

    @extend_schema(request=None, responses={200: AuditReviewSerializer, **conflict("the review is not requested")})
    @action(detail=True, methods=["post"])
    def take(self, request: Request, pk: str | None = None) -> Response:
        """Start on a requested review (not one you asked for yourself)."""
        return self._review_response(services.take_review(principal=self.principal, review=self.get_object()))

    @extend_schema(
        request=DecisionSerializer, responses={200: AuditReviewSerializer, **conflict("the review is not in review")}
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """Approve, approve with conditions or reject a review in progress."""
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        review = services.decide_review(principal=self.principal, review=self.get_object(), **decision.validated_data)
        return self._review_response(review)

    @extend_schema(request=None, responses={200: AuditReviewSerializer, **conflict("the review is decided or closed")})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Take back your own request before it is decided."""
        return self._review_response(services.withdraw_review(principal=self.principal, review=self.get_object()))

    @extend_schema(
        methods=["post"],
        request={"application/json": EvidenceLinkSerializer, "multipart/form-data": EvidenceFileSerializer},
        responses={
            201: EvidenceSerializer,
            (413, "application/problem+json"): OpenApiResponse(PROBLEM, description="the file is too large"),
            **conflict("the review is decided or closed"),
        },
    )
    # Neither paged nor filtered: all of one review's evidence (the list's filters are not this route's).
    @extend_schema(methods=["get"], responses=EvidenceSerializer(many=True), filters=False)
    @action(detail=True, methods=["get", "post"], parser_classes=[JSONParser, MultiPartParser], pagination_class=None)
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        """The review's evidence; add a link (JSON) or a file (multipart, at most AUDIT_EVIDENCE_MAX_BYTES)."""
        review = self.get_object()
        if request.method == "GET":
            return Response(EvidenceSerializer(review.evidence.all(), many=True, context={"request": request}).data)
        if request.content_type.startswith("multipart/"):
            upload = EvidenceFileSerializer(data=request.data)
            if self.upload_limit.exceeded:
                return problem(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, self.upload_limit.message())
            upload.is_valid(raise_exception=True)
            evidence = services.add_evidence_file(
                principal=self.principal, review=review, upload=upload.validated_data["file"],
                title=upload.validated_data["title"],
            )  # fmt: skip
        else:
            link = EvidenceLinkSerializer(data=request.data)
            link.is_valid(raise_exception=True)
            evidence = services.add_evidence_link(principal=self.principal, review=review, **link.validated_data)
        return Response(EvidenceSerializer(evidence, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(bytes, description="the file as uploaded")}
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<evidence_id>[0-9]{1,18})/file",
        renderer_classes=[JSONRenderer, OctetStreamOrProblem],
    )
    def evidence_file(self, request: Request, pk: str | None = None, evidence_id: str = "") -> FileResponse:
        """Download an uploaded file (always as an attachment of type application/octet-stream)."""
        evidence = Evidence.objects.filter(review=self.get_object(), pk=int(evidence_id), kind="file").first()
        if evidence is None:
            raise NotFound("no such file in this review's evidence")
        try:
            opened = evidence.file.open("rb")
        except FileNotFoundError:
            logger.error(
                "evidence %s of review %s: its file %s is missing from the storage", evidence.pk, pk, evidence.file
            )
            raise NotFound("the file of this evidence is missing from the storage") from None
        return FileResponse(
            opened,
            as_attachment=True,
            filename=evidence.file_name,
            content_type="application/octet-stream",  # never rendered by a browser as what it claims to be
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "model",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                required=True,
                description="the model's id",
            ),
            OpenApiParameter("revision", str, description="a recorded revision (default: the latest one)"),
        ],
        responses=CoverageSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def coverage(self, request: Request) -> Response:
        """What the model's reviews say about a revision: each kind's status and the summary."""
        repeated = {name: [REPEATED] for name, values in request.query_params.lists() if len(values) > 1}
        if repeated:  # as the list filters refuse them: of several values, .dict() would quietly take the last
            raise DRFValidationError(repeated)
        query = CoverageQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        model = AIModel.objects.filter(pk=query.validated_data["model"]).first()
        if model is None:
            raise ValidationError({"model": "no model with this id"})
        wanted = query.validated_data["revision"]
        revision = recorded_revision(model, wanted) if wanted else latest_revision(model)
        return Response(CoverageSerializer(coverage(model, revision)).data)
