"""API views of the inventory. They check input, call services and selectors, and shape answers."""

import hashlib
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.authentication import principal_of
from api.errors import problem
from api.inventory_serializers import (
    ArtifactLocationSerializer,
    ChangeLogEntrySerializer,
    DeploymentRegistrationSerializer,
    DeploymentSerializer,
    LicenseSerializer,
    ModelChangeSerializer,
    ModelRegistrationResultSerializer,
    ModelRegistrationSerializer,
    ModelSerializer,
    PublisherSerializer,
    RevisionSerializer,
)
from api.permissions import requires
from api.throttling import ThrottleFirst
from core.access import Capability, role_can
from core.models import ChangeLogEntry
from inventory import origin
from inventory.filters import ModelFilter
from inventory.models import (
    AIModel,
    Artifact,
    Deployment,
    License,
    Publisher,
    PublisherNamespace,
    RefreshState,
    Revision,
)
from inventory.refresh.jobs import request_refresh
from inventory.selectors import find_model, lineage_of, models_for_listing
from inventory.services import ai_models, deployments, revisions

READ = requires(Capability.READ)


def if_match(header: str, current: str) -> bool:
    """RFC 9110 If-Match: ``*``, or a list of tags one of which is the current one (weak ones too)."""
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or current in tags


def etag_of(model: AIModel) -> str:
    """Changes with every write to the model's own fields (what PATCH may change)."""
    stamp = f"{model.pk}:{model.updated_at.isoformat()}"
    return f'"{hashlib.sha256(stamp.encode()).hexdigest()[:32]}"'


class ModelViewSet(ThrottleFirst, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Models: list with filters, read, register (idempotent), correct (PATCH with If-Match), lineage."""

    serializer_class = ModelSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ModelFilter

    def get_queryset(self) -> QuerySet[AIModel]:
        ordering = self.request.query_params.get("ordering", "upstream_id")
        allowed = {"upstream_id", "-upstream_id", "created_at", "-created_at", "parameter_count", "-parameter_count"}
        if ordering not in allowed:
            raise ValidationError({"ordering": f"one of {', '.join(sorted(allowed))}"})
        return models_for_listing().order_by(ordering, "id")

    def get_permissions(self) -> list[Any]:
        needed = {"create": Capability.REGISTER, "partial_update": Capability.EDIT}.get(self.action, Capability.READ)
        return [requires(needed)()]

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        model = self.get_object()
        return Response(self.get_serializer(model).data, headers={"ETag": etag_of(model)})

    @extend_schema(
        request=ModelRegistrationSerializer,
        responses={201: ModelRegistrationResultSerializer, 200: ModelRegistrationResultSerializer},
    )
    def create(self, request: Request) -> Response:
        """Register a model; 201 when new, 200 with the same model when it exists. A hub model's
        refresh starts (when new, or not refreshed successfully yet): ``refresh_job`` links to it."""
        registration = ModelRegistrationSerializer(data=request.data)
        registration.is_valid(raise_exception=True)
        reference = registration.validated_data
        principal = principal_of(request)
        actor = principal.actor
        with transaction.atomic():
            model, created = ai_models.register_model(
                actor=actor, source=reference.source, upstream_id=reference.upstream_id, team=principal.team
            )
            if reference.revision:
                revisions.add_revision(actor=actor, model=model, revision=reference.revision)
            refresh = (
                request_refresh(actor=actor, model=model, requested_by=principal.person)
                if created or model.refresh_state != RefreshState.OK
                else None
            )
        model = models_for_listing().get(pk=model.pk)
        body = self.get_serializer(model).data
        body["refresh_job"] = reverse("job-detail", args=[refresh.pk], request=request) if refresh else None
        return Response(
            body,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={"Location": body["links"]["self"], "ETag": etag_of(model)},
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct a model's facts; needs ``If-Match`` with its current ETag (412 when stale)."""
        model = self.get_object()
        principal = principal_of(request)
        if not principal.may_touch(model.team):
            raise PermissionDenied(f"your team ({principal.team}) may edit only its own models")
        changes = ModelChangeSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        if not principal.may_touch(changes.validated_data.get("team", model.team)):
            raise PermissionDenied("a model cannot be handed to another team")
        expected = request.headers.get("If-Match")
        if not expected:
            return problem(status.HTTP_428_PRECONDITION_REQUIRED, "send If-Match with the ETag from GET")
        with transaction.atomic():
            # The lineage lock before the row lock, in the order every lineage writer takes them
            # (a refresh holds the first and waits for rows): the reverse order could deadlock.
            origin.lock_lineage()
            current = AIModel.objects.select_for_update().get(pk=model.pk)
            if not if_match(expected, etag_of(current)):
                return problem(status.HTTP_412_PRECONDITION_FAILED, "the model changed since you read it; GET it again")
            ai_models.update_model(actor=principal.actor, model=current, changes=changes.validated_data)
        model = models_for_listing().get(pk=model.pk)
        return Response(self.get_serializer(model).data, headers={"ETag": etag_of(model)})

    @action(detail=True, methods=["get"])
    def lineage(self, request: Request, pk: str | None = None) -> Response:
        """Ancestors and descendants (relation, depth, country), effective origin, inherited licenses, cuts."""
        return Response(lineage_of(self.get_object()))


class PublisherViewSet(ThrottleFirst, viewsets.ReadOnlyModelViewSet):
    """Publishers with their countries and hub namespaces."""

    serializer_class = PublisherSerializer
    permission_classes = [READ]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = {"country": ["exact"], "name": ["iexact"]}
    queryset = (
        Publisher.objects.select_related("parent")
        .prefetch_related(Prefetch("namespaces", queryset=PublisherNamespace.objects.order_by("source", "namespace")))
        .order_by("name", "id")
    )


class LicenseViewSet(ThrottleFirst, viewsets.ReadOnlyModelViewSet):
    """The license catalogue."""

    serializer_class = LicenseSerializer
    permission_classes = [READ]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = {"category": ["exact"], "commercial_use": ["exact"], "key": ["iexact"]}
    queryset = License.objects.prefetch_related("aliases").order_by("key", "id")


class RevisionViewSet(ThrottleFirst, viewsets.ReadOnlyModelViewSet):
    """Revisions with their artifacts."""

    serializer_class = RevisionSerializer
    permission_classes = [READ]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = {"model": ["exact"], "revision": ["exact"]}
    queryset = Revision.objects.select_related("model").prefetch_related("artifacts").order_by("-created_at", "-id")


class ArtifactViewSet(ThrottleFirst, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Which models and revisions carry a file: ``?sha256=``."""

    serializer_class = ArtifactLocationSerializer
    permission_classes = [READ]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = {"sha256": ["exact"], "format": ["exact"], "pickle_based": ["exact"]}
    queryset = Artifact.objects.select_related("revision__model").order_by("revision__model__upstream_id", "path", "id")


class DeploymentFilter(filters.FilterSet):
    model = filters.NumberFilter(field_name="revision__model_id", min_value=1, max_value=2**63 - 1)
    active = filters.BooleanFilter()

    class Meta:
        model = Deployment
        fields = ["system", "environment", "team"]


class DeploymentViewSet(ThrottleFirst, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deployments: register or refresh (idempotent on system, environment, revision), list, retire."""

    serializer_class = DeploymentSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = DeploymentFilter
    queryset = Deployment.objects.select_related("revision__model").order_by("system", "environment", "id")

    def get_permissions(self) -> list[Any]:
        needed = Capability.REGISTER if self.action in {"create", "retire"} else Capability.READ
        return [requires(needed)()]

    def create(self, request: Request) -> Response:
        """201 when new, 200 when the same system, environment and revision was registered before."""
        registration = DeploymentRegistrationSerializer(data=request.data)
        registration.is_valid(raise_exception=True)
        data = registration.validated_data
        reference = data["reference"]
        model = find_model(source=reference.source, upstream_id=reference.upstream_id)
        if model is None:
            raise ValidationError({"model": "not in the inventory: register it with POST /api/v1/models/ first"})
        principal = principal_of(request)
        team = data["team"] or (principal.team if principal.limited_to_team() else "")
        if not principal.may_touch(team):
            raise PermissionDenied(f"your team ({principal.team}) may register only its own deployments")
        existing = Deployment.objects.filter(
            revision__model=model,
            revision__revision=reference.revision.lower() if model.source == "huggingface" else reference.revision,
            system=data["system"],
            environment=data["environment"],
        ).first()
        if existing is not None and not principal.may_touch(existing.team):
            raise PermissionDenied(f"this deployment belongs to team {existing.team!r}")
        actor = principal.actor
        with transaction.atomic():
            revision, _ = revisions.add_revision(actor=actor, model=model, revision=reference.revision)
            deployment, created = deployments.record_deployment(
                actor=actor,
                revision=revision,
                system=data["system"],
                environment=data["environment"],
                team=team,
            )
        body = self.get_serializer(self.get_queryset().get(pk=deployment.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        """Mark the deployment as no longer running."""
        principal = principal_of(request)
        deployment = self.get_object()
        if not principal.may_touch(deployment.team):
            raise PermissionDenied(f"this deployment belongs to team {deployment.team!r}")
        deployment = deployments.retire_deployment(actor=principal.actor, deployment=deployment)
        return Response(self.get_serializer(self.get_queryset().get(pk=deployment.pk)).data)


class ChangeLogFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ChangeLogEntry
        fields = ["object_type", "object_id", "actor_kind", "actor_id", "actor_name", "request_id", "action"]


class ChangeLogViewSet(ThrottleFirst, viewsets.ReadOnlyModelViewSet):
    """The change log, read-only: filter by object, actor, request and time."""

    serializer_class = ChangeLogEntrySerializer
    permission_classes = [READ]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ChangeLogFilter

    # Who holds which token or role is for admins to see.
    ADMIN_ONLY_TYPES = ("core.apitoken", "core.useraccess")

    def get_queryset(self) -> QuerySet[ChangeLogEntry]:
        entries = ChangeLogEntry.objects.order_by("-created_at", "-id")
        if not role_can(principal_of(self.request).role, Capability.ADMINISTER):
            entries = entries.exclude(object_type__in=self.ADMIN_ONLY_TYPES)
        return entries
