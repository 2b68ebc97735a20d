"""Serializers of audit reviews: one per request body and per response."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from api.inputs import StrictSerializer, model_reference, text
from api.inventory.serializers import NullWhenBlank
from governance.models import DECISIONS, AuditReview, Evidence, ReviewKind, ReviewState
from governance.selectors import KindCoverage, state_of
from inventory.models import AuditStatus
from inventory.selectors import find_model


class EvidenceSerializer(serializers.ModelSerializer):
    """A link or an uploaded file behind a review; a file with its sha256, size and download link."""

    url = NullWhenBlank(help_text="the link (a link's evidence)")
    file_name = NullWhenBlank()
    content_type = NullWhenBlank()
    download = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id", "kind", "title", "url", "file_name", "content_type", "size", "sha256", "added_by", "added_at",
            "download",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, evidence: Evidence) -> str | None:
        if evidence.kind != "file":
            return None
        request = self.context.get("request")
        return reverse("audit-evidence-file", args=[evidence.review_id, evidence.pk], request=request)


class ReviewLinksSerializer(serializers.Serializer):
    """Where to read a review and what to do with it."""

    self = serializers.URLField(read_only=True)
    model = serializers.URLField(read_only=True)
    take = serializers.URLField(read_only=True)
    decide = serializers.URLField(read_only=True)
    withdraw = serializers.URLField(read_only=True)
    evidence = serializers.URLField(read_only=True)


class AuditReviewSerializer(serializers.ModelSerializer):
    """A review: what was asked, who took and decided it, the decision with its conditions and
    evidence, and how long it stands."""

    model = serializers.SerializerMethodField(help_text="source:namespace/name")
    revision = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requester_name", read_only=True)
    reviewer = NullWhenBlank(source="reviewer_name", help_text="who took it, then who decided it")
    follows = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="the review it re-reviews")
    upstream_changes = serializers.DictField(read_only=True, help_text="what changed upstream (re-reviews)")
    conditions = serializers.ListField(child=serializers.CharField(), read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = AuditReview
        fields = [
            "id", "model_id", "model", "revision", "kind", "state", "note", "follows", "upstream_changes",
            "requested_by", "reviewer", "findings", "conditions", "evidence", "requested_at", "taken_at",
            "decided_at", "expires_at", "closed_at", "links",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model(self, review: AuditReview) -> str:
        return f"{review.model.source}:{review.model.upstream_id}"

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="empty: it covers every revision"))
    def get_revision(self, review: AuditReview) -> str | None:
        return review.revision.revision if review.revision_id else None

    @extend_schema_field(serializers.ChoiceField(choices=ReviewState.choices))
    def get_state(self, review: AuditReview) -> str:
        return state_of(review)

    @extend_schema_field(ReviewLinksSerializer)
    def get_links(self, review: AuditReview) -> dict[str, str]:
        request = self.context.get("request")
        own = reverse("audit-detail", args=[review.pk], request=request)
        return {
            "self": own,
            "model": reverse("model-detail", args=[review.model_id], request=request),
            "take": f"{own}take/",
            "decide": f"{own}decide/",
            "withdraw": f"{own}withdraw/",
            "evidence": f"{own}evidence/",
        }


class AuditRequestSerializer(StrictSerializer):
    """Ask for a review of a model (by reference), optionally pinned to one of its recorded revisions."""

    model = text(300, help_text="purl or source:namespace/name of a model in the inventory")
    kind = serializers.ChoiceField(choices=ReviewKind.choices)
    revision = text(100, required=False, allow_blank=True, default="", help_text="pin it to this revision")
    note = text(2000, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            reference = model_reference(data["model"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"model": error.detail}) from None
        found = find_model(source=reference.source, upstream_id=reference.upstream_id)
        if found is None:
            raise serializers.ValidationError({"model": "not in the inventory: register it first"})
        if reference.revision and data["revision"] and reference.revision != data["revision"]:
            raise serializers.ValidationError({"revision": "differs from the @revision of the model reference"})
        return {**data, "model": found, "revision": data["revision"] or reference.revision or ""}


class DecisionSerializer(StrictSerializer):
    """An auditor's decision on a review in progress."""

    decision = serializers.ChoiceField(choices=sorted(DECISIONS))
    findings = text(10_000, required=False, allow_blank=True, default="", help_text="required for a rejection")
    conditions = serializers.ListField(
        child=text(500), required=False, default=list, max_length=50, help_text="required for approved_with_conditions"
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="approvals only; default: the kind's validity"
    )


class EvidenceLinkSerializer(StrictSerializer):
    """A link as evidence (JSON body)."""

    url = serializers.URLField(max_length=1000)
    title = text(200, required=False, allow_blank=True, default="")


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """An uploaded file: binary in the schema (drf-spectacular would describe the URL a FileField
    renders as, which is what it reads only with split request components)."""


class EvidenceFileSerializer(serializers.Serializer):
    """A file as evidence (multipart/form-data body)."""

    file = UploadField(allow_empty_file=True)
    title = text(200, required=False, allow_blank=True, default="")


class KindCoverageSerializer(serializers.Serializer):
    """One kind's status for the revision, from its newest counting review."""

    kind = serializers.ChoiceField(choices=ReviewKind.choices)
    status = serializers.ChoiceField(choices=AuditStatus.choices)
    review = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_review(self, coverage: KindCoverage) -> int | None:
        return coverage.review.pk if coverage.review else None


class CoverageSerializer(serializers.Serializer):
    """What a model's reviews say about one revision: per kind, and the summary."""

    model_id = serializers.IntegerField(source="model.pk")
    revision = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=AuditStatus.choices)
    expires_at = serializers.DateTimeField(allow_null=True)
    kinds = KindCoverageSerializer(many=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_revision(self, coverage: Any) -> str | None:
        return coverage.revision.revision if coverage.revision else None


class CoverageQuerySerializer(StrictSerializer):
    """``?model=<id>&revision=<revision>`` (default: the model's latest revision)."""

    model = serializers.CharField()
    # Empty is no revision (the API's query parameters allow empty values: an empty one is no filter).
    revision = text(100, required=False, allow_blank=True, default="")

    def validate_model(self, value: str) -> int:
        if not value.isdigit() or not 1 <= int(value) < 2**63:
            raise serializers.ValidationError("a model id")
        return int(value)
