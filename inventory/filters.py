"""The FilterSet for models, shared by the API and the portal."""

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    AuditStatus,
    CommercialUse,
    Deployment,
    LicenseCategory,
    OriginCountry,
    Source,
)


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
    audit_status = django_filters.ChoiceFilter(choices=AuditStatus.choices)
    source = django_filters.ChoiceFilter(choices=Source.choices)
    task = django_filters.CharFilter()
    team = django_filters.CharFilter()
    environment = django_filters.CharFilter(method="filter_environment", label="actively deployed in environment")
    q = django_filters.CharFilter(method="filter_text", label="text in the upstream id or description")

    class Meta:
        model = AIModel
        fields: list[str] = []

    def filter_publisher_country(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        if value.lower() == UNKNOWN_COUNTRY:
            return queryset.filter(Q(publisher__isnull=True) | Q(publisher__country=""))
        return queryset.filter(publisher__country=value.upper())

    def filter_origin(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        country = UNKNOWN_COUNTRY if value.lower() == UNKNOWN_COUNTRY else value.upper()
        return queryset.filter(Exists(OriginCountry.objects.filter(model=OuterRef("pk"), country=country)))

    def filter_environment(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        deployed = Deployment.objects.filter(revision__model=OuterRef("pk"), environment=value, active=True)
        return queryset.filter(Exists(deployed))

    def filter_text(self, queryset: QuerySet[AIModel], name: str, value: str) -> QuerySet[AIModel]:
        return queryset.filter(Q(upstream_id__icontains=value) | Q(description__icontains=value))
