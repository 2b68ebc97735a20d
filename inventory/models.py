"""The catalogue: publishers, licenses, models with their revisions, artifacts, lineage and deployments."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from inventory.validators import (
    validate_country_code,
    validate_datasets,
    validate_evaluation_results,
    validate_git_blob_id,
    validate_license_key,
    validate_obligations,
    validate_tags,
    validate_upstream_id,
)

UNKNOWN_COUNTRY = "unknown"


class Source(models.TextChoices):
    """Where a model lives upstream."""

    HUGGINGFACE = "huggingface", "Hugging Face"
    MODELSCOPE = "modelscope", "ModelScope"
    INTERNAL = "internal", "Internal"
    # Named by an ingested CycloneDX BOM without a purl (docs/boms.md, "Ingest: mapping rules").
    BOM = "bom", "BOM"


class LicenseCategory(models.TextChoices):
    PERMISSIVE = "permissive"
    COPYLEFT = "copyleft"
    USE_RESTRICTED = "use-restricted"
    PROPRIETARY = "proprietary"
    UNKNOWN = "unknown"


class CommercialUse(models.TextChoices):
    YES = "yes"
    NO = "no"
    CONDITIONAL = "conditional"


class RefreshState(models.TextChoices):
    PENDING = "pending"
    OK = "ok"
    ERROR = "error"
    GONE = "gone"


class AuditStatus(models.TextChoices):
    """A model's audit summary (governance decides it; see docs/audits.md)."""

    UNAUDITED = "unaudited"
    PENDING = "pending"
    APPROVED = "approved"
    CONDITIONAL = "conditional"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ArtifactFormat(models.TextChoices):
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    ONNX = "onnx"
    PYTORCH_PICKLE = "pytorch-pickle"
    PICKLE = "pickle"
    KERAS = "keras"
    OTHER = "other"


# Formats whose loading can execute code embedded in the file.
PICKLE_BASED_FORMATS = (ArtifactFormat.PYTORCH_PICKLE, ArtifactFormat.PICKLE)


class Relation(models.TextChoices):
    """How a model derives from its parent."""

    FINETUNE = "finetune"
    ADAPTER = "adapter"
    QUANTIZED = "quantized"
    MERGE = "merge"
    DISTILLATION = "distillation"
    OTHER = "other"


class EdgeOrigin(models.TextChoices):
    """Where a lineage edge was learned."""

    MODEL_CARD = "model_card"
    HUB_TAGS = "hub_tags"
    BOM = "bom"
    MANUAL = "manual"


def _one_of(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class Publisher(models.Model):
    """Who releases models: an organization with a headquarters country (or unknown)."""

    name = models.CharField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    # ISO 3166-1 alpha-2; empty when unknown (hubs do not report countries).
    country = models.CharField(max_length=2, blank=True, validators=[validate_country_code])
    # Where the headquarters country is stated (curated catalogue entries always have one).
    country_source = models.URLField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subsidiaries")
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(country="") | Q(country__regex=r"^[A-Z]{2}$"), name="publisher_country_iso"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="publisher_not_own_parent"),
        ]
        indexes = [models.Index(fields=["country"], name="publisher_country_idx")]

    def __str__(self) -> str:
        return self.display_name or self.name


class PublisherNamespace(models.Model):
    """A hub namespace of a publisher; an alias is an old name the hub renamed (THUDM -> zai-org)."""

    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="namespaces")
    source = models.CharField(max_length=32, choices=Source.choices)
    namespace = models.CharField(max_length=100)
    is_alias = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "source",
                Lower("namespace"),
                name="namespace_unique_per_source",
                violation_error_message="namespace: this hub namespace already belongs to a publisher",
            ),
            _one_of("source", Source, "namespace_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.namespace}"


class License(models.Model):
    """A license: an SPDX id, or ``LicenseRef-<slug>`` for AI licenses SPDX does not list."""

    key = models.CharField(max_length=100, unique=True, validators=[validate_license_key])
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=LicenseCategory.choices, default=LicenseCategory.UNKNOWN)
    commercial_use = models.CharField(max_length=16, choices=CommercialUse.choices, default=CommercialUse.CONDITIONAL)
    obligations = models.JSONField(default=dict, blank=True, validators=[validate_obligations])
    url = models.URLField(blank=True, help_text="the license text or the official page its facts come from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            _one_of("category", LicenseCategory, "license_category_valid"),
            _one_of("commercial_use", CommercialUse, "license_commercial_use_valid"),
            models.CheckConstraint(condition=Q(key__regex=r"^[A-Za-z0-9.+-]+$"), name="license_key_spdx_syntax"),
        ]
        indexes = [models.Index(fields=["category"], name="license_category_idx")]

    def __str__(self) -> str:
        return self.key


class LicenseAlias(models.Model):
    """A name a hub uses for a license (``llama3.3``, ``qwen``, ``modified-mit``); each names one license."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)

    class Meta:
        verbose_name = "license alias"
        verbose_name_plural = "license aliases"
        constraints = [
            models.UniqueConstraint(
                Lower("alias"),
                name="license_alias_unique",
                violation_error_message="alias: this alias already names a license",
            )
        ]

    def __str__(self) -> str:
        return self.alias


class AIModel(models.Model):
    """One upstream model, with its publisher, declared license, the facts the hub reports,
    and what the registry derives: its effective origin and the license terms it inherits."""

    # Not worth a change-log copy: the raw hub answer (its meaningful changes are logged as
    # upstream-change events), the refresh lock and the time of the next retry.
    CHANGELOG_EXCLUDE = (
        "upstream_snapshot",
        "model_card",
        "refresh_lock_owner",
        "refresh_lock_until",
        "refresh_retry_at",
    )

    source = models.CharField(max_length=32, choices=Source.choices)
    upstream_id = models.CharField(max_length=200, validators=[validate_upstream_id])
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.PROTECT, related_name="models")
    declared_license = models.ForeignKey(
        License, null=True, blank=True, on_delete=models.PROTECT, related_name="declared_by"
    )
    task = models.CharField(max_length=100, blank=True)
    library = models.CharField(max_length=100, blank=True)
    architecture = models.CharField(max_length=100, blank=True)
    # From the model card and the hub's config (see docs/boms.md): the training data the card names
    # ([{"source": "huggingface", "id": ...}]), the evaluation results it reports (one entry per metric)
    # and the config's model_type ("llama", "qwen2"...). Empty when the hub does not say: never guessed.
    datasets = models.JSONField(default=list, blank=True, validators=[validate_datasets])
    evaluation_results = models.JSONField(default=list, blank=True, validators=[validate_evaluation_results])
    architecture_family = models.CharField(max_length=100, blank=True)
    # The CycloneDX modelCard of an ingested BOM, kept as the BOM gave it (raw data, like the
    # upstream snapshot); None for a model no BOM described.
    model_card = models.JSONField(null=True, blank=True)
    parameter_count = models.BigIntegerField(null=True, blank=True)
    gated = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    team = models.CharField(max_length=100, blank=True)
    # The hub's license value as it stands ("other" gives way to its license_name): kept verbatim,
    # so that a value the catalogue does not map stays visible as unknown rather than guessed.
    upstream_license = models.CharField(max_length=200, blank=True)
    upstream_snapshot = models.JSONField(null=True, blank=True)
    refresh_state = models.CharField(max_length=16, choices=RefreshState.choices, default=RefreshState.PENDING)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_error = models.TextField(blank=True)
    # After a failed refresh, registrations and the schedule leave the model alone until then
    # (longer after a permanent error); None when the last refresh got an answer.
    refresh_retry_at = models.DateTimeField(null=True, blank=True)
    # The per-model refresh lock: who holds it and until when (see inventory.refresh.lease).
    refresh_lock_owner = models.CharField(max_length=200, blank=True)
    refresh_lock_until = models.DateTimeField(null=True, blank=True)
    # Kept by governance (audit reviews) through ai_models.set_audit_status. ``audit_expires_at`` is when
    # the first approval the status rests on runs out: from then on the status reads as expired
    # (inventory.selectors.audit_status_of), even before the scheduled expiry has run.
    audit_status = models.CharField(max_length=16, choices=AuditStatus.choices, default=AuditStatus.UNAUDITED)
    audit_expires_at = models.DateTimeField(null=True, blank=True)
    # Derived by inventory.origin, kept here so that reads need no graph walk.
    inherited_licenses = models.ManyToManyField(License, blank=True, related_name="inherited_by")
    license_mismatch = models.BooleanField(default=False)
    lineage_cuts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "model"
        ordering = ["source", "upstream_id"]
        constraints = [
            models.UniqueConstraint(
                "source",
                Lower("upstream_id"),
                name="model_unique_per_source",
                violation_error_message="upstream_id: a model with this source and upstream id exists",
            ),
            _one_of("source", Source, "model_source_valid"),
            _one_of("refresh_state", RefreshState, "model_refresh_state_valid"),
            _one_of("audit_status", AuditStatus, "model_audit_status_valid"),
            models.CheckConstraint(condition=Q(upstream_id__regex=r"^[^/\s]+/[^/\s]+$"), name="model_upstream_id_form"),
            models.CheckConstraint(condition=Q(parameter_count__gte=0), name="model_parameter_count_positive"),
        ]
        indexes = [
            models.Index(fields=["source"], name="model_source_idx"),
            models.Index(fields=["task"], name="model_task_idx"),
            models.Index(fields=["team"], name="model_team_idx"),
            models.Index(fields=["audit_status"], name="model_audit_status_idx"),
            models.Index(fields=["source", "refreshed_at"], name="model_refreshed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.upstream_id}"

    @property
    def namespace(self) -> str:
        return self.upstream_id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.upstream_id.split("/", 1)[1]


class ModelAlias(models.Model):
    """A former upstream id of a model whose repository was renamed or moved."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="aliases")
    source = models.CharField(max_length=32, choices=Source.choices)
    upstream_id = models.CharField(max_length=200, validators=[validate_upstream_id])

    class Meta:
        verbose_name = "model alias"
        verbose_name_plural = "model aliases"
        constraints = [
            models.UniqueConstraint(
                "source",
                Lower("upstream_id"),
                name="model_alias_unique",
                violation_error_message="upstream_id: this upstream id is already known",
            ),
            _one_of("source", Source, "model_alias_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.upstream_id}"


class OriginCountry(models.Model):
    """One country of a model's effective origin ("unknown" included): one indexed row per country."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="origin_countries")
    country = models.CharField(max_length=7)

    class Meta:
        verbose_name = "origin country"
        verbose_name_plural = "origin countries"
        constraints = [
            models.UniqueConstraint(fields=["model", "country"], name="origin_country_unique"),
            models.CheckConstraint(
                condition=Q(country=UNKNOWN_COUNTRY) | Q(country__regex=r"^[A-Z]{2}$"), name="origin_country_valid"
            ),
        ]
        indexes = [models.Index(fields=["country", "model"], name="origin_country_idx")]

    def __str__(self) -> str:
        return self.country


class Revision(models.Model):
    """A pinned version of a model: a commit sha for hub models, a version string otherwise."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="revisions")
    revision = models.CharField(max_length=100)
    # The hub's own security scan: None when the hub reported none; False when it reported that
    # no scan was done (its empty issue list then means "not scanned", not "clean").
    scan_done = models.BooleanField(null=True, blank=True)
    scan_issues = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["model", "revision"], name="revision_unique_per_model")]

    def __str__(self) -> str:
        return f"{self.model}@{self.revision}"


class Artifact(models.Model):
    """A file of a revision, with its digests and whether loading it can run code.

    ``sha256`` is the content's digest, which the hub reports for files kept in Git LFS only;
    ``blob_id`` is the git blob id the hub reports for every file (for an LFS file: of its pointer
    file, so its content is identified by ``sha256``). Either is empty when not known.
    """

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="artifacts")
    path = models.CharField(max_length=500)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    blob_id = models.CharField(max_length=40, blank=True, validators=[validate_git_blob_id])
    format = models.CharField(max_length=16, choices=ArtifactFormat.choices)
    pickle_based = models.BooleanField()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "path"], name="artifact_unique_per_revision"),
            _one_of("format", ArtifactFormat, "artifact_format_valid"),
            models.CheckConstraint(
                condition=Q(sha256="") | Q(sha256__regex=r"^[0-9a-f]{64}$"), name="artifact_sha256_hex"
            ),
            models.CheckConstraint(
                condition=Q(blob_id="") | Q(blob_id__regex=r"^[0-9a-f]{40}$"), name="artifact_blob_id_hex"
            ),
            models.CheckConstraint(condition=Q(size__gte=0), name="artifact_size_positive"),
            models.CheckConstraint(
                condition=Q(pickle_based=Q(format__in=PICKLE_BASED_FORMATS)), name="artifact_pickle_flag_matches_format"
            ),
        ]
        indexes = [
            models.Index(fields=["sha256"], name="artifact_sha256_idx"),
            models.Index(fields=["blob_id"], name="artifact_blob_id_idx"),
        ]

    def __str__(self) -> str:
        return self.path


class LineageEdge(models.Model):
    """Child model -> parent model. The parent is named by reference and linked once it is in the
    inventory; until then the edge dangles and the child's origin includes "unknown"."""

    child = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="parent_edges")
    parent = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="child_edges")
    parent_source = models.CharField(max_length=32, choices=Source.choices)
    parent_upstream_id = models.CharField(max_length=200)
    relation = models.CharField(max_length=16, choices=Relation.choices)
    origin = models.CharField(max_length=16, choices=EdgeOrigin.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("child", "parent_source", Lower("parent_upstream_id"), name="lineage_edge_unique"),
            models.CheckConstraint(condition=~Q(child=F("parent")), name="lineage_edge_not_self"),
            _one_of("relation", Relation, "lineage_relation_valid"),
            _one_of("origin", EdgeOrigin, "lineage_origin_valid"),
            _one_of("parent_source", Source, "lineage_parent_source_valid"),
        ]
        indexes = [models.Index(fields=["parent_source", "parent_upstream_id"], name="lineage_parent_ref_idx")]

    def __str__(self) -> str:
        return f"{self.child} -[{self.relation}]-> {self.parent_source}:{self.parent_upstream_id}"


class Deployment(models.Model):
    """Where a revision runs: a system in an environment, owned by a team."""

    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="deployments")
    system = models.CharField(max_length=100)
    environment = models.CharField(max_length=50)
    team = models.CharField(max_length=100, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["system", "environment"]
        constraints = [
            models.UniqueConstraint(fields=["system", "environment", "revision"], name="deployment_unique"),
            models.CheckConstraint(condition=Q(last_seen__gte=F("first_seen")), name="deployment_seen_order"),
            models.CheckConstraint(
                condition=Q(active=True, retired_at__isnull=True) | Q(active=False, retired_at__isnull=False),
                name="deployment_retired_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "active"], name="deployment_env_idx"),
            models.Index(fields=["team"], name="deployment_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.system}/{self.environment}: {self.revision}"
