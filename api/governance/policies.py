"""API views of policies, violations, break-glass overrides and the deploy gate: each action maps
its request to one service or selector call (``governance.policies``, ``.violations``, ``.gate``)."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import RegistryViewSet
from api.governance.policy_serializers import (
    DECISIONS,
    DRY_RUN_LIMIT,
    DryRunDefinitionSerializer,
    DryRunSerializer,
    GateAnswerSerializer,
    GateDecisionSerializer,
    GateRequestSerializer,
    OverrideRequestSerializer,
    OverrideSerializer,
    PolicyChangeSerializer,
    PolicyDefinitionSerializer,
    PolicySerializer,
    PolicyVersionSerializer,
    ViolationSerializer,
    WaiverSerializer,
)
from api.governance.views import conflict
from api.renderers import CsvOrProblem
from core.access import Capability
from governance import gate, policies, violations
from governance.exports import COLUMNS, csv_lines, decision_rows
from governance.gate import ArtifactClaim
from governance.models import GateDecision, Override, Policy, PolicyAction, Violation, ViolationState
from inventory.filters import MAX_ID, StrictBooleanFilter

# --- Filters --------------------------------------------------------------------------------------


class PolicyFilter(django_filters.FilterSet):
    enabled = StrictBooleanFilter()
    action = django_filters.ChoiceFilter(choices=PolicyAction.choices)

    class Meta:
        model = Policy
        fields: list[str] = []


class ViolationFilter(django_filters.FilterSet):
    """Violations by policy, model, state (as of now: a waiver past its end is open) and the policy's action."""

    policy = django_filters.NumberFilter(field_name="policy_id", min_value=1, max_value=MAX_ID)
    model = django_filters.NumberFilter(field_name="model_id", min_value=1, max_value=MAX_ID)
    state = django_filters.ChoiceFilter(choices=ViolationState.choices, method="filter_state")
    action = django_filters.ChoiceFilter(field_name="policy__action", choices=PolicyAction.choices)

    class Meta:
        model = Violation
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Violation], name: str, value: str) -> QuerySet[Violation]:
        return violations.with_state(queryset, value)


class OverrideFilter(django_filters.FilterSet):
    model = django_filters.NumberFilter(field_name="model_id", min_value=1, max_value=MAX_ID)
    environment = django_filters.CharFilter()

    class Meta:
        model = Override
        fields: list[str] = []


class GateDecisionFilter(django_filters.FilterSet):
    """Decisions by model, environment, decision and time (``since`` inclusive, ``until`` exclusive)."""

    model = django_filters.NumberFilter(field_name="model_id", min_value=1, max_value=MAX_ID)
    environment = django_filters.CharFilter()
    decision = django_filters.ChoiceFilter(choices=DECISIONS)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="made at or after")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="made before")

    class Meta:
        model = GateDecision
        fields: list[str] = []


# --- Policies -------------------------------------------------------------------------------------


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Policies: list and read (anyone who reads); write, edit (each edit a new version) and try
    before saving (admins)."""

    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    queryset = Policy.objects.order_by("name")
    capabilities = {
        "create": Capability.ADMINISTER,
        "partial_update": Capability.ADMINISTER,
        "dry_run": Capability.ADMINISTER,
    }

    @extend_schema(request=PolicyDefinitionSerializer, responses={201: PolicySerializer})
    def create(self, request: Request) -> Response:
        """Add a policy (version 1). An invalid condition is a 400 naming ``conditions.<n>.<field>``."""
        definition = PolicyDefinitionSerializer(data=request.data)
        definition.is_valid(raise_exception=True)
        policy = policies.create_policy(actor=self.principal.actor, definition=definition.definition())
        body = self.get_serializer(policy).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": str(body["links"]["self"])})

    @extend_schema(request=PolicyChangeSerializer, responses=PolicySerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change any of the definition's fields: a new version when anything differs."""
        changes = PolicyChangeSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        policy = policies.update_policy(
            actor=self.principal.actor, policy=self.get_object(), changes=changes.definition()
        )
        return Response(self.get_serializer(policy).data)

    @extend_schema(responses=PolicyVersionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Every version of the policy, newest first, each with its whole definition."""
        page = self.paginate_queryset(self.get_object().versions.order_by("-version"))
        return self.get_paginated_response(PolicyVersionSerializer(page, many=True).data)

    @extend_schema(request=DryRunDefinitionSerializer, responses=DryRunSerializer, filters=False)
    @action(detail=False, methods=["post"], url_path="dry-run", filter_backends=[], pagination_class=None)
    def dry_run(self, request: Request) -> Response:
        """Which models a policy with this definition would flag now, without saving anything: all of
        them counted, the first ``DRY_RUN_LIMIT`` (by id) listed with why."""
        definition = DryRunDefinitionSerializer(data=request.data)
        definition.is_valid(raise_exception=True)
        flagged = policies.dry_run(definition=definition.definition())
        body = {
            "flagged_count": len(flagged),
            "limit": DRY_RUN_LIMIT,
            "truncated": len(flagged) > DRY_RUN_LIMIT,
            "models": flagged[:DRY_RUN_LIMIT],
        }
        return Response(DryRunSerializer(body).data)


# --- Violations -----------------------------------------------------------------------------------


class ViolationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Violations per (policy, model): list and read (anyone who reads), waive (auditors)."""

    serializer_class = ViolationSerializer
    filterset_class = ViolationFilter
    queryset = Violation.objects.select_related("policy", "model").order_by("id")
    capabilities = {"waive": Capability.AUDIT}

    @extend_schema(request=WaiverSerializer, responses={200: ViolationSerializer, **conflict("it is not open")})
    @action(detail=True, methods=["post"])
    def waive(self, request: Request, pk: str | None = None) -> Response:
        """Accept an open violation until ``expires_at``, saying why; it reopens by itself then."""
        waiver = WaiverSerializer(data=request.data)
        waiver.is_valid(raise_exception=True)
        waived = violations.waive(
            principal=self.principal,
            violation=self.get_object(),
            reason=waiver.validated_data["reason"],
            until=waiver.validated_data["expires_at"],
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=waived.pk)).data)


# --- Break-glass overrides ------------------------------------------------------------------------


class OverrideViewSet(mixins.ListModelMixin, RegistryViewSet):
    """Break-glass overrides: listed (anyone who reads), granted and revoked (admins)."""

    serializer_class = OverrideSerializer
    filterset_class = OverrideFilter
    queryset = Override.objects.select_related("model").order_by("-created_at", "-id")
    capabilities = {"create": Capability.ADMINISTER, "revoke": Capability.ADMINISTER}

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=OverrideRequestSerializer, responses={201: OverrideSerializer})
    def create(self, request: Request) -> Response:
        """Let the model through the gate in the environment until ``expires_at``; the gate says so."""
        wanted = OverrideRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        override = gate.grant_override(principal=self.principal, **wanted.validated_data)
        return Response(self.get_serializer(override).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=OverrideSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """End the override now (revoking it again changes nothing)."""
        override = gate.revoke_override(principal=self.principal, override=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=override.pk)).data)


# --- The gate -------------------------------------------------------------------------------------


class GateViewSet(RegistryViewSet):
    """The deploy gate (deployers, editors, admins)."""

    capabilities = {"create": Capability.REGISTER}
    serializer_class = GateAnswerSerializer

    @extend_schema(request=GateRequestSerializer, responses={200: GateAnswerSerializer})
    def create(self, request: Request) -> Response:
        """May the model (at ``@revision``, else its latest known one) go to ``environment`` now, with these
        files? Always 200 with the decision and every reason (a model not in the inventory: ``deny``);
        only a malformed request is a 4xx. Each decision is recorded (``links.decision``)."""
        asked = GateRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        decision = gate.ask(
            principal=self.principal, reference=data["reference"], asked_as=data["model"],
            environment=data["environment"], system=data["system"],
            artifacts=[ArtifactClaim(**artifact) for artifact in data["artifacts"]],
        )  # fmt: skip
        return Response(GateAnswerSerializer(decision, context={"request": request}).data)


class GateDecisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """The gate's recorded decisions, for auditors: list, read, export as CSV."""

    serializer_class = GateDecisionSerializer
    filterset_class = GateDecisionFilter
    queryset = GateDecision.objects.order_by("-created_at", "-id")

    @extend_schema(
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="one row per decision, newest first, with a header row: " + ", ".join(COLUMNS),
            )
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=[JSONRenderer, CsvOrProblem])
    def export(self, request: Request) -> StreamingHttpResponse:
        """Every decision the filters select (all of them without any), as CSV, streamed."""
        decisions = self.filter_queryset(self.get_queryset())
        rows = csv_lines(decision_rows(decisions.iterator(chunk_size=2000)))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="gate-decisions.csv"'
        return response
