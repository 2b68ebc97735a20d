"""The inventory's FilterSets, one per resource, shared by the API and the portal."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    Artifact,
    AuditStatus,
    CommercialUse,
    Deployment,
    License,
    LicenseCategory,
    Publisher,
    Revision,
    Source,
)
from inventory.selectors import with_audit_status, with_origin

MAX_ID = 2**63 - 1


class StrictBooleanField(forms.NullBooleanField):
    """``true`` / ``false`` (or ``1`` / ``0``); empty is no value, anything else an error (Django's
    NullBooleanField takes it for no value, so a misspelt filter would quietly filter nothing)."""

    def to_python(self, value: object) -> bool | None:
        if value in self.empty_values:
            return None
        result = super().to_python(value)
        if result is None:
            raise ValidationError("true or false", code="invalid")
        return result


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter that refuses other values; the plain widget hands the field the raw value (the
    default select widget would turn an unknown one into no value before the field sees it)."""

    field_class = StrictBooleanField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class StableOrderingFilter(django_filters.OrderingFilter):
    """``ordering`` with the id as the last key, so that pages of equal values never overlap."""

    def __init__(self, *args: object, default: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def filter(self, queryset: QuerySet, value: list[str] | None) -> QuerySet:
        return queryset.order_by(*(value or self.default), "id")


class ModelFilter(django_filters.FilterSet):
    """Filters of the model list; each is one indexed condition."""

    publisher = django_filters.CharFilter(field_name="publisher__name", lookup_expr="iexact")
    publisher_country = django_filters.CharFilter(method="filter_publisher_country")
    origin = django_filters.CharFilter(method="filter_origin", label="effective-origin country (or 'unknown')")
    license = django_filters.CharFilter(field_name="declared_license__key", lookup_expr="iexact")
    license_category = django_filters.ChoiceFilter(
        field_name="declared_license__category", choices=LicenseCategory.choices
    )
    commercial_use = django_filters.ChoiceFilter(
        field_name="declared_license__commercial_use", choices=CommercialUse.choices
    )
    audit_status = django_filters.ChoiceFilter(choices=AuditStatus.choices, method="filter_audit_status")
    source = django_filters.ChoiceFilter(choices=Source.choices)
    task = django_filters.CharFilter()
    team = django_filters.CharFilter()
    environment = django_filters.CharFilter(method="filter_environment", label="actively deployed in environment")
    q = django_filters.CharFilter(method="filter_text", label="text in the upstream id or description")
    ordering = StableOrderingFilter(
        fields=("upstream_id", "created_at", "parameter_count"), default=("upstream_id",), label="sort order"
    )

    class Meta:
        model = AIModel
        fields: list[str] = []

    def filter_publisher_country(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        if value.lower() == UNKNOWN_COUNTRY:
            return queryset.filter(Q(publisher__isnull=True) | Q(publisher__country=""))
        return queryset.filter(publisher__country=value.upper())

    def filter_origin(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        return with_origin(queryset, value)

    def filter_audit_status(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        return with_audit_status(queryset, value)

    def filter_environment(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        deployed = Deployment.objects.filter(revision__model=OuterRef("pk"), environment=value, active=True)
        return queryset.filter(Exists(deployed))

    def filter_text(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        return queryset.filter(Q(upstream_id__icontains=value) | Q(description__icontains=value))


class PublisherFilter(django_filters.FilterSet):
    """Publishers by country and name."""

    name = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Publisher
        fields = ["country"]


class LicenseFilter(django_filters.FilterSet):
    """Licenses by category, commercial use and key."""

    key = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = License
        fields = ["category", "commercial_use"]


class RevisionFilter(django_filters.FilterSet):
    """Revisions by model (id) and revision id."""

    model = django_filters.NumberFilter(field_name="model_id", min_value=1, max_value=MAX_ID)

    class Meta:
        model = Revision
        fields = ["revision"]


class ArtifactFilter(django_filters.FilterSet):
    """Files by digest (sha256, git blob id), serialization format and whether loading them can run code."""

    pickle_based = StrictBooleanFilter()

    class Meta:
        model = Artifact
        fields = ["sha256", "blob_id", "format", "pickle_based"]


class DeploymentFilter(django_filters.FilterSet):
    """Deployments by system, environment, team, model (id) and whether they still run."""

    model = django_filters.NumberFilter(field_name="revision__model_id", min_value=1, max_value=MAX_ID)
    active = StrictBooleanFilter()

    class Meta:
        model = Deployment
        fields = ["system", "environment", "team"]
