"""API views of the inventory: each action maps its request to one service or selector call, and
the outcome to a response."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.base import RegistryViewSet
from api.inventory.serializers import (
    ArtifactLocationSerializer,
    DeploymentRegistrationSerializer,
    DeploymentSerializer,
    LicenseSerializer,
    LineageSerializer,
    ModelChangeSerializer,
    ModelRegistrationResultSerializer,
    ModelRegistrationSerializer,
    ModelSerializer,
    PublisherSerializer,
    RevisionSerializer,
)
from core.access import Capability
from inventory.filters import (
    ArtifactFilter,
    DeploymentFilter,
    LicenseFilter,
    ModelFilter,
    PublisherFilter,
    RevisionFilter,
)
from inventory.models import AIModel, Artifact, Deployment, License, Publisher, PublisherNamespace, Revision
from inventory.selectors import lineage_of, model_version, models_for_listing
from inventory.services import ai_models, deployments, registration

ETAG = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, response=[200], description="the model's version, for If-Match"
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": r"[^\s,]"},  # at least one tag: blank or bare commas count as none (428)
    OpenApiParameter.HEADER,
    required=True,
    description="the ETag of your GET (or `*`); a stale one gets 412, none 428",
)
LOCATION = OpenApiParameter(
    "Location", str, OpenApiParameter.HEADER, response=[200, 201], description="the model's URL"
)


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Models: list with filters, read, register (idempotent), correct (PATCH with If-Match), lineage."""

    serializer_class = ModelSerializer
    filterset_class = ModelFilter
    capabilities = {"create": Capability.REGISTER, "partial_update": Capability.EDIT}

    def get_queryset(self) -> QuerySet[AIModel]:
        # A lineage reads the model's own row; what a list shows besides would be loaded for nothing.
        return AIModel.objects.all() if self.action == "lineage" else models_for_listing()

    def _model_response(self, model: AIModel, **extra: Any) -> Response:
        """The model (loaded as a list loads it) with its ETag."""
        return Response(self.get_serializer(model).data, headers={"ETag": model_version(model)}, **extra)

    @extend_schema(parameters=[ETAG])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._model_response(self.get_object())

    @extend_schema(
        request=ModelRegistrationSerializer,
        responses={
            201: OpenApiResponse(ModelRegistrationResultSerializer, description="registered"),
            200: OpenApiResponse(ModelRegistrationResultSerializer, description="it was registered before"),
        },
        parameters=[ETAG, LOCATION],
    )
    def create(self, request: Request) -> Response:
        """Register a model; 201 when new, 200 with the same model when it exists. A hub model's
        refresh starts (when new, or not refreshed successfully yet): ``refresh_job`` links to it."""
        registration_input = ModelRegistrationSerializer(data=request.data)
        registration_input.is_valid(raise_exception=True)
        outcome = registration.register(principal=self.principal, reference=registration_input.validated_data)
        model = models_for_listing().get(pk=outcome.model.pk)
        body = self.get_serializer(model).data
        job = outcome.refresh_job
        body["refresh_job"] = reverse("job-detail", args=[job.pk], request=request) if job else None
        return Response(
            body,
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
            headers={"Location": str(body["links"]["self"]), "ETag": model_version(model)},
        )

    @extend_schema(request=ModelChangeSerializer, responses=ModelSerializer, parameters=[IF_MATCH, ETAG])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct a model's facts; needs ``If-Match`` with its current ETag (412 when stale, 428 without)."""
        changes = ModelChangeSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        model = ai_models.correct_model(
            principal=self.principal,
            model=self.get_object(),
            changes=changes.validated_data,
            expected_versions=self.expected_versions(),
        )
        return self._model_response(models_for_listing().get(pk=model.pk))

    @extend_schema(responses=LineageSerializer)
    @action(detail=True, methods=["get"])
    def lineage(self, request: Request, pk: str | None = None) -> Response:
        """Ancestors and descendants (relation, depth, country), effective origin, inherited licenses, cuts."""
        return Response(LineageSerializer(lineage_of(self.get_object())).data)


class PublisherViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Publishers with their countries and hub namespaces."""

    serializer_class = PublisherSerializer
    filterset_class = PublisherFilter
    queryset = (
        Publisher.objects.select_related("parent")
        .prefetch_related(Prefetch("namespaces", queryset=PublisherNamespace.objects.order_by("source", "namespace")))
        .order_by("name", "id")
    )


class LicenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """The license catalogue."""

    serializer_class = LicenseSerializer
    filterset_class = LicenseFilter
    queryset = License.objects.prefetch_related("aliases").order_by("key", "id")


class RevisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Revisions with their artifacts."""

    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter
    queryset = Revision.objects.select_related("model").prefetch_related("artifacts").order_by("-created_at", "-id")


class ArtifactViewSet(mixins.ListModelMixin, RegistryViewSet):
    """Which models and revisions carry a file: ``?sha256=`` or ``?blob_id=``."""

    serializer_class = ArtifactLocationSerializer
    filterset_class = ArtifactFilter
    queryset = Artifact.objects.select_related("revision__model").order_by("revision__model__upstream_id", "path", "id")


class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Deployments: register or refresh (idempotent on system, environment, revision), list, retire."""

    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilter
    queryset = Deployment.objects.select_related("revision__model").order_by("system", "environment", "id")
    capabilities = {"create": Capability.REGISTER, "retire": Capability.REGISTER}

    def _deployment_response(self, deployment: Deployment, **extra: Any) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=deployment.pk)).data, **extra)

    @extend_schema(
        request=DeploymentRegistrationSerializer,
        responses={
            201: OpenApiResponse(DeploymentSerializer, description="registered"),
            200: OpenApiResponse(DeploymentSerializer, description="it was registered before (last_seen is now)"),
        },
    )
    def create(self, request: Request) -> Response:
        """201 when new, 200 when the same system, environment and revision was registered before."""
        registration_input = DeploymentRegistrationSerializer(data=request.data)
        registration_input.is_valid(raise_exception=True)
        data = registration_input.validated_data
        deployment, created = deployments.register_deployment(
            principal=self.principal,
            reference=data["reference"],
            system=data["system"],
            environment=data["environment"],
            team=data["team"],
        )
        return self._deployment_response(deployment, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        """Mark the deployment as no longer running."""
        deployment = deployments.retire_deployment(principal=self.principal, deployment=self.get_object())
        return self._deployment_response(deployment)
