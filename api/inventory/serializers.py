"""Serializers of the inventory resources."""

from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from api.inputs import StrictSerializer, model_reference, text
from inventory.models import (
    AIModel,
    Artifact,
    AuditStatus,
    Deployment,
    License,
    Publisher,
    PublisherNamespace,
    Relation,
    Revision,
    Source,
)
from inventory.purls import ModelReference
from inventory.selectors import audit_status_of, effective_origin, model_purl


class NullWhenBlank(serializers.CharField):
    """A text column whose empty value means "not known": ``null`` in the API."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class PublisherNamespaceSerializer(serializers.ModelSerializer):
    """A hub namespace of a publisher; ``alias`` when it is a former name."""

    alias = serializers.BooleanField(source="is_alias", read_only=True)

    class Meta:
        model = PublisherNamespace
        fields = ["source", "namespace", "alias"]
        read_only_fields = fields


class PublisherSerializer(serializers.ModelSerializer):
    """A publisher with its country (null when unknown) and hub namespaces."""

    country = NullWhenBlank(help_text="ISO 3166-1 alpha-2; null when unknown")
    namespaces = PublisherNamespaceSerializer(many=True, read_only=True)
    parent = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Publisher
        fields = ["id", "name", "display_name", "country", "country_source", "parent", "website", "namespaces"]
        read_only_fields = fields
        extra_kwargs = {"country_source": {"allow_blank": True}, "website": {"allow_blank": True}}  # "" or a URL


class LicenseObligationsSerializer(serializers.Serializer):
    """A license's key obligations; only those it has are present (see inventory.validators)."""

    attribution = serializers.CharField(required=False, help_text="text that must be displayed")
    user_threshold = serializers.IntegerField(
        required=False, help_text="monthly active users above which a separate license is needed"
    )
    revenue_threshold_usd = serializers.IntegerField(required=False, help_text="likewise for annual revenue")
    territorial_exclusions = serializers.ListField(child=serializers.CharField(), required=False)
    use_restrictions = serializers.ListField(child=serializers.CharField(), required=False)


class LicenseSerializer(serializers.ModelSerializer):
    """A license with its terms and the aliases hubs use."""

    obligations = LicenseObligationsSerializer(read_only=True)
    aliases = serializers.SlugRelatedField(slug_field="alias", many=True, read_only=True)

    class Meta:
        model = License
        fields = ["id", "key", "name", "category", "commercial_use", "obligations", "url", "aliases"]
        read_only_fields = fields
        extra_kwargs = {"url": {"allow_blank": True}}  # "" or a URL


class ModelPublisherSerializer(serializers.ModelSerializer):
    """A model's publisher, in brief."""

    country = NullWhenBlank(help_text="ISO 3166-1 alpha-2; null when unknown")

    class Meta:
        model = Publisher
        fields = ["id", "name", "country"]
        read_only_fields = fields


class ModelLicenseSerializer(serializers.ModelSerializer):
    """A model's declared license, in brief."""

    class Meta:
        model = License
        fields = ["key", "category", "commercial_use"]
        read_only_fields = fields


class LineageCutSerializer(serializers.Serializer):
    """Where a lineage walk stopped: a cycle, a parent not in the inventory, or the depth bound."""

    reason = serializers.ChoiceField(choices=["cycle", "depth", "missing_parent"], read_only=True)
    at = serializers.CharField(read_only=True, help_text="the model the walk stopped at (source:id)")
    parent = serializers.CharField(read_only=True, help_text="the parent it did not follow (source:id)")


class ModelLinksSerializer(serializers.Serializer):
    """Where to read more about a model."""

    self = serializers.URLField(read_only=True)
    lineage = serializers.URLField(read_only=True)
    revisions = serializers.URLField(read_only=True)
    audits = serializers.URLField(read_only=True)


class DatasetReferenceSerializer(serializers.Serializer):
    """A dataset a model's card names, by hub and id."""

    source = serializers.ChoiceField(
        choices=Source.choices, read_only=True, help_text="the hub the dataset lives on (huggingface so far)"
    )
    id = serializers.CharField(read_only=True, help_text="the dataset's id on that hub (namespace/name or a bare name)")


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}]})
class MetricValueField(serializers.JSONField):
    """A metric's value as the card gives it: a number, or a string (such as "55.1%")."""


class EvaluationResultSerializer(serializers.Serializer):
    """One metric of an evaluation result the model's card reports (its ``model-index``)."""

    task = serializers.CharField(read_only=True, help_text="the task type; empty when the card does not say")
    dataset = serializers.CharField(read_only=True, help_text="the dataset's hub id, else its name; may be empty")
    dataset_name = serializers.CharField(read_only=True, help_text="the dataset's display name; may be empty")
    metric = serializers.CharField(read_only=True, help_text="the metric's type, e.g. accuracy, pass@1")
    value = MetricValueField(read_only=True)
    verified = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="whether the hub verified it; null when the card does not say"
    )


@extend_schema_field(DatasetReferenceSerializer(many=True))
class DatasetsField(serializers.JSONField):
    """Stored in the documented shape already (AIModel's validator): passed through as it is."""


@extend_schema_field(EvaluationResultSerializer(many=True))
class EvaluationResultsField(serializers.JSONField):
    """Stored in the documented shape already (AIModel's validator): passed through as it is."""


class ModelSerializer(serializers.ModelSerializer):
    """A model with its provenance: publisher and country, license, effective origin, inherited terms."""

    purl = serializers.SerializerMethodField()
    publisher = ModelPublisherSerializer(read_only=True, allow_null=True)
    license = ModelLicenseSerializer(source="declared_license", read_only=True, allow_null=True)
    effective_origin = serializers.SerializerMethodField()
    inherited_licenses = serializers.SerializerMethodField()
    lineage_cuts = LineageCutSerializer(many=True, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    # The card's data, kept by the refresh from the hub (not correctable through the API).
    datasets = DatasetsField(read_only=True, help_text="the datasets the model's card names; empty when unknown")
    evaluation_results = EvaluationResultsField(
        read_only=True, help_text="the evaluation results the model's card reports, one per metric"
    )
    architecture_family = serializers.CharField(
        read_only=True, help_text="the hub config's model_type (e.g. llama, qwen2); empty when unknown"
    )
    audit_status = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = AIModel
        fields = [
            "id", "purl", "source", "upstream_id", "publisher", "license", "upstream_license", "effective_origin",
            "inherited_licenses", "license_mismatch", "lineage_cuts", "audit_status", "audit_expires_at",
            "refresh_state", "refreshed_at", "refresh_error", "task", "library", "architecture", "architecture_family",
            "parameter_count", "gated", "description", "tags", "datasets", "evaluation_results", "team", "links",
        ]  # fmt: skip
        read_only_fields = fields

    def get_purl(self, model: AIModel) -> str:
        return model_purl(model)

    def get_effective_origin(self, model: AIModel) -> list[str]:
        return effective_origin(model)

    @extend_schema_field(serializers.ChoiceField(choices=AuditStatus.choices))
    def get_audit_status(self, model: AIModel) -> str:
        return audit_status_of(model)

    def get_inherited_licenses(self, model: AIModel) -> list[str]:
        return sorted(license_.key for license_ in model.inherited_licenses.all())

    @extend_schema_field(ModelLinksSerializer)
    def get_links(self, model: AIModel) -> dict[str, str]:
        models_url, revisions_url, audits_url = self._list_urls
        # The router's URLs of a model and of its detail action, built from the list's URL, reversed once
        # per serializer: one reverse() per row and link costs more than serializing the rest of the row.
        return {
            "self": f"{models_url}{model.pk}/",
            "lineage": f"{models_url}{model.pk}/lineage/",
            "revisions": f"{revisions_url}?model={model.pk}",
            "audits": f"{audits_url}?model={model.pk}",
        }

    @cached_property
    def _list_urls(self) -> tuple[str, str, str]:
        request = self.context.get("request")
        return tuple(reverse(name, request=request) for name in ("model-list", "revision-list", "audit-list"))


class ModelRegistrationResultSerializer(ModelSerializer):
    """The registered model, with the link of the refresh its registration started (or joined)."""

    refresh_job = serializers.URLField(read_only=True, allow_null=True)

    class Meta(ModelSerializer.Meta):
        fields = [*ModelSerializer.Meta.fields, "refresh_job"]


class LineageNodeSerializer(serializers.Serializer):
    """An ancestor or descendant: how it relates, how many levels away, its publisher's country."""

    id = serializers.IntegerField(read_only=True)
    model = serializers.CharField(read_only=True, help_text="source:namespace/name")
    relation = serializers.ChoiceField(choices=Relation.choices, read_only=True)
    depth = serializers.IntegerField(read_only=True, min_value=1)
    country = serializers.CharField(read_only=True, help_text='ISO 3166-1 alpha-2, or "unknown"')


class LineageSerializer(serializers.Serializer):
    """A model's lineage: ancestors (breadth first) and descendants, and what the registry derives from it."""

    ancestors = LineageNodeSerializer(many=True, read_only=True)
    descendants = LineageNodeSerializer(many=True, read_only=True)
    effective_origin = serializers.ListField(child=serializers.CharField(), read_only=True)
    inherited_licenses = serializers.ListField(child=serializers.CharField(), read_only=True)
    license_mismatch = serializers.BooleanField(read_only=True)
    cuts = LineageCutSerializer(many=True, read_only=True)


class ModelRegistrationSerializer(StrictSerializer):
    """Register a model by ``reference`` (purl or short form), or by ``source`` and ``upstream_id``."""

    reference = text(300, required=False)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    upstream_id = text(200, required=False)
    revision = text(100, required=False)

    def validate(self, data: dict[str, Any]) -> ModelReference:
        if "reference" in data:
            if "source" in data or "upstream_id" in data:
                raise serializers.ValidationError({"reference": "give a reference, or source and upstream_id"})
            try:
                found = model_reference(data["reference"])
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"reference": error.detail}) from None
            return ModelReference(found.source, found.upstream_id, data.get("revision") or found.revision)
        missing = [name for name in ("source", "upstream_id") if name not in data]
        if missing:
            raise serializers.ValidationError(
                {name: "this field is required (or give a reference)" for name in missing}
            )
        return ModelReference(data["source"], data["upstream_id"], data.get("revision"))


class ModelChangeSerializer(StrictSerializer):
    """The facts of a model that people and tools may correct."""

    publisher = serializers.SlugRelatedField(slug_field="name", queryset=Publisher.objects.all(), required=False)
    declared_license = serializers.SlugRelatedField(
        slug_field="key", queryset=License.objects.all(), required=False, allow_null=True
    )
    task = text(100, required=False, allow_blank=True)
    library = text(100, required=False, allow_blank=True)
    architecture = text(100, required=False, allow_blank=True)
    parameter_count = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    gated = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    tags = serializers.ListField(child=text(100), max_length=100, required=False)
    team = text(100, required=False, allow_blank=True)


BLOB_ID_HELP = (
    "the git blob id the hub gives for the file (sha1 of `blob <size>\\0<content>`); for a file in Git LFS, "
    "of its pointer file, and `sha256` identifies its content; null when not known"
)


class ArtifactSerializer(serializers.ModelSerializer):
    """A file of a revision: its size and digests when known, its format, whether loading it can run code."""

    blob_id = NullWhenBlank(help_text=BLOB_ID_HELP)

    class Meta:
        model = Artifact
        fields = ["path", "size", "sha256", "blob_id", "format", "pickle_based"]
        read_only_fields = fields


class RevisionSerializer(serializers.ModelSerializer):
    """A pinned version of a model with its files."""

    model = serializers.CharField(source="model.__str__", read_only=True)
    model_id = serializers.IntegerField(read_only=True)
    artifacts = ArtifactSerializer(many=True, read_only=True)

    class Meta:
        model = Revision
        fields = ["id", "model_id", "model", "revision", "created_at", "artifacts"]
        read_only_fields = fields


class OnRevisionSerializer(serializers.ModelSerializer):
    """A row that belongs to a revision: the id and name of its model, and the revision."""

    model_id = serializers.IntegerField(source="revision.model_id", read_only=True)
    model = serializers.CharField(source="revision.model.__str__", read_only=True)
    revision = serializers.CharField(source="revision.revision", read_only=True)


class ArtifactLocationSerializer(OnRevisionSerializer):
    """A file and where it is: which model and revision carry it."""

    blob_id = NullWhenBlank(help_text=BLOB_ID_HELP)

    class Meta:
        model = Artifact
        fields = ["model_id", "model", "revision", "path", "size", "sha256", "blob_id", "format", "pickle_based"]
        read_only_fields = fields


class DeploymentSerializer(OnRevisionSerializer):
    """Where a revision runs."""

    class Meta:
        model = Deployment
        fields = [
            "id", "model_id", "model", "revision", "system", "environment", "team",
            "first_seen", "last_seen", "active", "retired_at",
        ]  # fmt: skip
        read_only_fields = fields


class DeploymentRegistrationSerializer(StrictSerializer):
    """Register where a model runs: the model by reference, pinned by ``revision`` or ``@revision``."""

    model = text(300)
    revision = text(100, required=False)
    system = text(100)
    environment = text(50)
    team = text(100, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            reference = model_reference(data["model"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"model": error.detail}) from None
        revision = data.get("revision") or reference.revision
        if not revision:
            raise serializers.ValidationError({"revision": "give the revision that runs (or model@revision)"})
        return {**data, "reference": ModelReference(reference.source, reference.upstream_id, revision)}
