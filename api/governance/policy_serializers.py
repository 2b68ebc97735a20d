"""Serializers of policies, violations, break-glass overrides and the deploy gate: one per request
body and per response. The meaning of each condition (subjects, operators, values) is checked by
``governance.conditions``, whose errors name ``conditions.<n>.<field>`` as these do."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from api.inputs import StrictSerializer, model_reference, text
from governance import gate
from governance.conditions import OPERATORS, SUBJECTS
from governance.models import (
    GateDecision,
    Override,
    Policy,
    PolicyAction,
    PolicyMatch,
    PolicyVersion,
    ReviewKind,
    Violation,
    ViolationState,
)
from governance.violations import state_of
from inventory.models import AuditStatus
from inventory.purls import ModelReference, build_purl
from inventory.selectors import audit_status_of, effective_origin, find_model

# How many files one gate request may name: a model folder has tens to a few hundred; the bound keeps
# one request's work small, and its body within the default MAX_REQUEST_BYTES (1 MiB; 413 beyond).
MAX_ARTIFACTS = 2000
# How many flagged models a dry run lists (it counts them all).
DRY_RUN_LIMIT = 100
DECISIONS = [("allow", "allow"), ("warn", "warn"), ("deny", "deny")]  # the gate's answers


# --- Policies -------------------------------------------------------------------------------------


_SCALAR = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]


@extend_schema_field({"oneOf": [*_SCALAR, {"type": "array", "minItems": 1, "items": {"oneOf": _SCALAR}}]})
class ConditionValueField(serializers.JSONField):
    """A condition's value: one string, number or boolean, or a list of them."""


class ConditionSerializer(StrictSerializer):
    """``{"subject", "operator", "value"}``, plus ``kind`` (a review kind) for ``audit_status`` and
    ``days_since_approval``. Which operators and values fit which subject: docs/policies.md."""

    subject = serializers.ChoiceField(choices=list(SUBJECTS))
    operator = serializers.ChoiceField(choices=list(OPERATORS))
    value = ConditionValueField(
        allow_null=True,  # checked against the subject by governance.conditions, which says what it takes
        help_text="one value, or a non-empty list for in, not_in and contains_any; its type is the subject's",
    )
    kind = serializers.ChoiceField(choices=ReviewKind.choices, required=False, help_text="audit subjects only")


def _names() -> serializers.ListField:
    return serializers.ListField(child=text(100), required=False, max_length=100)


class PolicyDefinitionSerializer(StrictSerializer):
    """A policy's definition (all a version keeps). Empty ``environments``, ``tags``, ``teams``: everywhere."""

    name = serializers.SlugField(max_length=100)
    description = text(5000, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="default false")
    action = serializers.ChoiceField(choices=PolicyAction.choices, help_text="what the gate does when it flags")
    match = serializers.ChoiceField(choices=PolicyMatch.choices, required=False, help_text="default all")
    environments = _names()
    tags = _names()
    teams = _names()
    conditions = serializers.ListField(child=ConditionSerializer(), min_length=1, max_length=50)

    def definition(self) -> dict[str, Any]:
        """The validated fields as the services take them (plain dicts and lists)."""
        data = dict(self.validated_data)
        if "conditions" in data:
            data["conditions"] = [dict(condition) for condition in data["conditions"]]
        return data


class PolicyChangeSerializer(PolicyDefinitionSerializer):
    """The fields to change (PATCH): any of the definition's; each edit is a new version."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class DryRunDefinitionSerializer(PolicyDefinitionSerializer):
    """A policy's definition to try (``name`` optional: nothing is saved)."""

    name = serializers.SlugField(max_length=100, required=False)


class PolicyLinksSerializer(serializers.Serializer):
    self = serializers.URLField(read_only=True)
    versions = serializers.URLField(read_only=True)
    violations = serializers.URLField(read_only=True)


class PolicySerializer(serializers.ModelSerializer):
    """A policy: its current definition and version."""

    environments = serializers.ListField(child=serializers.CharField(), read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    teams = serializers.ListField(child=serializers.CharField(), read_only=True)
    conditions = serializers.ListField(child=serializers.DictField(), read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = [
            "id", "name", "description", "enabled", "action", "match", "environments", "tags", "teams",
            "conditions", "version", "created_at", "updated_at", "links",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(PolicyLinksSerializer)
    def get_links(self, policy: Policy) -> dict[str, str]:
        own = reverse("policy-detail", args=[policy.pk], request=self.context.get("request"))
        violations = reverse("violation-list", request=self.context.get("request"))
        return {"self": own, "versions": f"{own}versions/", "violations": f"{violations}?policy={policy.pk}"}


class PolicyVersionSerializer(serializers.ModelSerializer):
    """One version of a policy: its whole definition then, and who wrote it."""

    definition = serializers.DictField(read_only=True)
    written_by = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = PolicyVersion
        fields = ["version", "definition", "written_by", "created_at"]
        read_only_fields = fields


class FlaggedModelSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="model.pk")
    model = serializers.SerializerMethodField(help_text="source:namespace/name")
    message = serializers.CharField(help_text="the conditions that hold, with the facts they met")

    def get_model(self, flagged: Any) -> str:
        return f"{flagged.model.source}:{flagged.model.upstream_id}"


class DryRunSerializer(serializers.Serializer):
    """What the policy would flag now, over every model in its tag and team scope (environments are the
    gate's concern): the count of all, the first ``limit`` by id."""

    flagged_count = serializers.IntegerField()
    limit = serializers.IntegerField(help_text=f"at most this many models are listed ({DRY_RUN_LIMIT})")
    truncated = serializers.BooleanField(help_text="more models are flagged than listed")
    models = FlaggedModelSerializer(many=True)


# --- Violations -----------------------------------------------------------------------------------


class ViolationLinksSerializer(serializers.Serializer):
    self = serializers.URLField(read_only=True)
    policy = serializers.URLField(read_only=True)
    model = serializers.URLField(read_only=True)
    waive = serializers.URLField(read_only=True)


class ViolationSerializer(serializers.ModelSerializer):
    """A policy's conditions holding for a model, and its triage (state as of now)."""

    policy_name = serializers.CharField(source="policy.name", read_only=True)
    action = serializers.ChoiceField(source="policy.action", choices=PolicyAction.choices, read_only=True)
    model = serializers.SerializerMethodField(help_text="source:namespace/name")
    state = serializers.SerializerMethodField(help_text="as of now: a waiver past its end is open")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Violation
        fields = [
            "id", "policy", "policy_name", "action", "policy_version", "model_id", "model", "state", "message",
            "first_seen", "changed_at", "resolved_at", "waiver_reason", "waived_by", "waived_until", "links",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model(self, violation: Violation) -> str:
        return f"{violation.model.source}:{violation.model.upstream_id}"

    @extend_schema_field(serializers.ChoiceField(choices=ViolationState.choices))
    def get_state(self, violation: Violation) -> str:
        return state_of(violation)

    @extend_schema_field(ViolationLinksSerializer)
    def get_links(self, violation: Violation) -> dict[str, str]:
        request = self.context.get("request")
        own = reverse("violation-detail", args=[violation.pk], request=request)
        return {
            "self": own,
            "policy": reverse("policy-detail", args=[violation.policy_id], request=request),
            "model": reverse("model-detail", args=[violation.model_id], request=request),
            "waive": f"{own}waive/",
        }


class WaiverSerializer(StrictSerializer):
    """An auditor accepts an open violation until ``expires_at``, saying why."""

    reason = text(2000)
    expires_at = serializers.DateTimeField(help_text="in the future; the violation reopens then")


# --- Break-glass overrides ------------------------------------------------------------------------


def _reference(value: str, *, revision_allowed: bool) -> ModelReference:
    try:
        reference = model_reference(value)
    except serializers.ValidationError as error:
        raise serializers.ValidationError({"model": error.detail}) from None
    if reference.revision and not revision_allowed:
        raise serializers.ValidationError({"model": "an override is for the model, not a revision: leave out @"})
    return reference


class OverrideRequestSerializer(StrictSerializer):
    """Let a model through the gate in one environment until ``expires_at``, saying why."""

    model = text(300, help_text="purl or source:namespace/name of a model in the inventory")
    environment = text(50)
    reason = text(2000)
    expires_at = serializers.DateTimeField(help_text="in the future")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        reference = _reference(data["model"], revision_allowed=False)
        found = find_model(source=reference.source, upstream_id=reference.upstream_id)
        if found is None:
            raise serializers.ValidationError({"model": "not in the inventory"})
        return {**data, "model": found}


class OverrideSerializer(serializers.ModelSerializer):
    """A break-glass override; ``active`` when neither revoked nor expired (as of now)."""

    model = serializers.SerializerMethodField(help_text="source:namespace/name")
    active = serializers.SerializerMethodField()
    revoke = serializers.SerializerMethodField()

    class Meta:
        model = Override
        fields = [
            "id", "model_id", "model", "environment", "reason", "created_by", "created_at", "expires_at",
            "revoked_at", "active", "revoke",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model(self, override: Override) -> str:
        return f"{override.model.source}:{override.model.upstream_id}"

    def get_active(self, override: Override) -> bool:
        return gate.override_state(override, self.context["now"]) == "active"

    @extend_schema_field(serializers.URLField())
    def get_revoke(self, override: Override) -> str:
        return reverse("override-revoke", args=[override.pk], request=self.context.get("request"))


# --- The gate -------------------------------------------------------------------------------------


class ArtifactClaimSerializer(StrictSerializer):
    """A file about to be shipped: its path in the model folder and its digests."""

    path = text(500, help_text="relative to the model folder, with / separators")
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}\Z", max_length=64, help_text="64 hex digits")
    blob_id = serializers.RegexField(
        r"^[0-9a-fA-F]{40}\Z", max_length=40, required=False,
        help_text="git blob id (40 hex digits): how files outside Git LFS are checked",
    )  # fmt: skip


class GateRequestSerializer(StrictSerializer):
    """May this model (at this revision, with these files) go to this environment now?"""

    model = text(300, help_text="purl or source:namespace/name[@revision]; without one, the latest known revision")
    environment = text(50)
    system = text(100, required=False, allow_blank=True, default="", help_text="the system it is deployed in")
    artifacts = serializers.ListField(
        child=ArtifactClaimSerializer(), required=False, default=list, max_length=MAX_ARTIFACTS,
        help_text=f"every file to ship (at most {MAX_ARTIFACTS}), each path once",
    )  # fmt: skip

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        reference = _reference(data["model"], revision_allowed=True)  # the gate itself looks the model up
        seen: set[str] = set()
        for index, artifact in enumerate(data["artifacts"]):
            if artifact["path"] in seen:
                raise serializers.ValidationError({f"artifacts.{index}.path": "this path is given twice"})
            seen.add(artifact["path"])
        return {**data, "reference": reference}


class GateReasonSerializer(serializers.Serializer):
    policy = serializers.CharField(allow_null=True, help_text="null: the gate's own (unknown model, a file, override)")
    action = serializers.ChoiceField(choices=PolicyAction.choices)
    message = serializers.CharField()
    waived = serializers.BooleanField(help_text="an auditor waived this policy's violation: it does not count")


class GatePublisherSerializer(serializers.Serializer):
    name = serializers.CharField()
    country = serializers.CharField(allow_null=True, help_text="ISO 3166-1 alpha-2; null when unknown")


class GateModelSerializer(serializers.Serializer):
    """The model the decision is about, as the decision saw it."""

    id = serializers.IntegerField()
    purl = serializers.CharField(help_text="at the revision decided on")
    effective_origin = serializers.ListField(child=serializers.CharField())
    audit_status = serializers.ChoiceField(choices=AuditStatus.choices, help_text="of the revision decided on")
    publisher = GatePublisherSerializer(allow_null=True)
    license = serializers.CharField(allow_null=True, help_text="the declared license's key")
    team = serializers.CharField(allow_blank=True)


class GateLinksSerializer(serializers.Serializer):
    decision = serializers.URLField()
    model = serializers.URLField(allow_null=True)
    violations = serializers.URLField(allow_null=True)


class GateAnswerSerializer(serializers.Serializer):
    """The gate's decision with every reason; ``model`` null when it is not in the inventory."""

    decision = serializers.ChoiceField(choices=DECISIONS)
    reasons = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField()
    decision_id = serializers.IntegerField(source="pk")
    links = serializers.SerializerMethodField()

    @extend_schema_field(GateReasonSerializer(many=True))
    def get_reasons(self, decision: GateDecision) -> list[dict[str, Any]]:
        # Stored as the gate made them, in this very shape: no field-by-field pass (a gate call's budget).
        return decision.reasons

    @extend_schema_field(GateModelSerializer(allow_null=True))
    def get_model(self, decision: GateDecision) -> dict[str, Any] | None:
        return gate_model_summary(decision)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="null: the model has no revision yet"))
    def get_revision(self, decision: GateDecision) -> str | None:
        return decision.revision or None

    @extend_schema_field(GateLinksSerializer)
    def get_links(self, decision: GateDecision) -> dict[str, str | None]:
        request = self.context.get("request")
        model = reverse("model-detail", args=[decision.model_id], request=request) if decision.model_id else None
        violations = f"{reverse('violation-list', request=request)}?model={decision.model_id}" if model else None
        return {
            "decision": reverse("gate-decision-detail", args=[decision.pk], request=request),
            "model": model,
            "violations": violations,
        }


def gate_model_summary(decision: GateDecision) -> dict[str, Any] | None:
    """The decided model's summary, from the facts the decision recorded where it has them (the
    model comes loaded with its facts by the gate: no further queries)."""
    model = decision.model
    if model is None:
        return None
    facts = decision.facts
    publisher = model.publisher
    return {
        "id": model.pk,
        "purl": build_purl(source=model.source, upstream_id=model.upstream_id, revision=decision.revision or None),
        "effective_origin": facts.get("effective_origin", effective_origin(model)),
        "audit_status": facts.get("audit_status", audit_status_of(model)),
        "publisher": {"name": publisher.name, "country": publisher.country or None} if publisher else None,
        "license": model.declared_license.key if model.declared_license else None,
        "team": model.team,
    }


class GateDecisionSerializer(serializers.ModelSerializer):
    """A recorded decision: who asked, about what, the answer with its reasons, and the facts, policy
    versions and files it was made from."""

    actor = serializers.CharField(source="actor_name", read_only=True)
    decision = serializers.ChoiceField(choices=DECISIONS, read_only=True)
    reasons = GateReasonSerializer(many=True, read_only=True)
    facts = serializers.DictField(read_only=True, help_text="the model's facts the policies were checked against")
    policy_versions = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="name: version of every policy in scope"
    )
    artifacts = serializers.ListField(child=serializers.DictField(), read_only=True, help_text="each file checked")
    revision = serializers.SerializerMethodField()

    class Meta:
        model = GateDecision
        fields = [
            "id", "created_at", "actor", "request_id", "reference", "model_id", "revision", "environment", "system",
            "decision", "reasons", "facts", "policy_versions", "artifacts", "override",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_revision(self, decision: GateDecision) -> str | None:
        return decision.revision or None
