"""Serializers of the inventory resources."""

from typing import Any

from rest_framework import serializers
from rest_framework.reverse import reverse

from api.inputs import StrictSerializer, model_reference, text
from inventory.models import AIModel, Artifact, Deployment, License, Publisher, Revision, Source
from inventory.purls import ModelReference
from inventory.selectors import effective_origin, model_purl


class PublisherSerializer(serializers.ModelSerializer):
    """A publisher with its country (null when unknown) and hub namespaces."""

    country = serializers.SerializerMethodField()
    namespaces = serializers.SerializerMethodField()
    parent = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Publisher
        fields = ["id", "name", "display_name", "country", "country_source", "parent", "website", "namespaces"]

    def get_country(self, publisher: Publisher) -> str | None:
        return publisher.country or None

    def get_namespaces(self, publisher: Publisher) -> list[dict[str, Any]]:
        return [
            {"source": entry.source, "namespace": entry.namespace, "alias": entry.is_alias}
            for entry in publisher.namespaces.all()
        ]


class LicenseSerializer(serializers.ModelSerializer):
    """A license with its terms and the aliases hubs use."""

    aliases = serializers.SlugRelatedField(slug_field="alias", many=True, read_only=True)

    class Meta:
        model = License
        fields = ["id", "key", "name", "category", "commercial_use", "obligations", "url", "aliases"]


class ModelSerializer(serializers.ModelSerializer):
    """A model with its provenance: publisher and country, license, effective origin, inherited terms."""

    purl = serializers.SerializerMethodField()
    publisher = serializers.SerializerMethodField()
    license = serializers.SerializerMethodField()
    effective_origin = serializers.SerializerMethodField()
    inherited_licenses = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = AIModel
        fields = [
            "id", "purl", "source", "upstream_id", "publisher", "license", "upstream_license", "effective_origin",
            "inherited_licenses", "license_mismatch", "lineage_cuts", "audit_status", "refresh_state",
            "refreshed_at", "refresh_error", "task", "library", "architecture", "parameter_count", "gated",
            "description", "tags", "team", "links",
        ]  # fmt: skip

    def get_purl(self, model: AIModel) -> str:
        return model_purl(model)

    def get_publisher(self, model: AIModel) -> dict[str, Any] | None:
        publisher = model.publisher
        return {"id": publisher.pk, "name": publisher.name, "country": publisher.country or None} if publisher else None

    def get_license(self, model: AIModel) -> dict[str, Any] | None:
        declared = model.declared_license
        if declared is None:
            return None
        return {"key": declared.key, "category": declared.category, "commercial_use": declared.commercial_use}

    def get_effective_origin(self, model: AIModel) -> list[str]:
        return effective_origin(model)

    def get_inherited_licenses(self, model: AIModel) -> list[str]:
        return sorted(license_.key for license_ in model.inherited_licenses.all())

    def get_links(self, model: AIModel) -> dict[str, str]:
        request = self.context.get("request")
        return {
            "self": reverse("model-detail", args=[model.pk], request=request),
            "lineage": reverse("model-lineage", args=[model.pk], request=request),
            "revisions": reverse("revision-list", request=request) + f"?model={model.pk}",
        }


class ModelRegistrationResultSerializer(ModelSerializer):
    """The registered model, with the link of the refresh its registration started (or joined)."""

    refresh_job = serializers.URLField(read_only=True, allow_null=True)

    class Meta(ModelSerializer.Meta):
        fields = [*ModelSerializer.Meta.fields, "refresh_job"]


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


class ArtifactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Artifact
        fields = ["path", "size", "sha256", "format", "pickle_based"]


class RevisionSerializer(serializers.ModelSerializer):
    """A pinned version of a model with its files."""

    model = serializers.CharField(source="model.__str__", read_only=True)
    model_id = serializers.IntegerField(read_only=True)
    artifacts = ArtifactSerializer(many=True, read_only=True)

    class Meta:
        model = Revision
        fields = ["id", "model_id", "model", "revision", "created_at", "artifacts"]


class ArtifactLocationSerializer(serializers.ModelSerializer):
    """A file and where it is: which model and revision carry it."""

    model_id = serializers.IntegerField(source="revision.model_id", read_only=True)
    model = serializers.CharField(source="revision.model.__str__", read_only=True)
    revision = serializers.CharField(source="revision.revision", read_only=True)

    class Meta:
        model = Artifact
        fields = ["model_id", "model", "revision", "path", "size", "sha256", "format", "pickle_based"]


class DeploymentSerializer(serializers.ModelSerializer):
    """Where a revision runs."""

    model_id = serializers.IntegerField(source="revision.model_id", read_only=True)
    model = serializers.CharField(source="revision.model.__str__", read_only=True)
    revision = serializers.CharField(source="revision.revision", read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id", "model_id", "model", "revision", "system", "environment", "team",
            "first_seen", "last_seen", "active", "retired_at",
        ]  # fmt: skip


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
