"""Django admin for the inventory. Every save and delete goes through a service, so the admin writes
the same change-log rows and triggers the same recomputations as the API does."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.access import principal_for_user
from core.admin import ReadOnlyAdmin
from core.changelog import Actor
from inventory import selectors
from inventory.catalogue import CatalogueError, apply_catalogue, parse_catalogue
from inventory.filters import ModelFilter
from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    Artifact,
    Deployment,
    License,
    LicenseAlias,
    LineageEdge,
    ModelAlias,
    OriginCountry,
    Publisher,
    PublisherNamespace,
    Revision,
)
from inventory.services import ai_models, deployments, licenses, lineage, publishers


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def _changes(form: forms.ModelForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


class ServiceAdmin(admin.ModelAdmin):
    """Saves through ``create`` / ``update`` and deletes through ``remove``; bulk delete is off."""

    actions = None
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def create(self, *, actor: Actor, form: forms.ModelForm) -> Any:
        raise NotImplementedError

    def update(self, *, actor: Actor, obj: Any, form: forms.ModelForm) -> Any:
        raise NotImplementedError

    def remove(self, *, actor: Actor, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        saved = (
            self.update(actor=_actor(request), obj=obj, form=form)
            if change
            else self.create(actor=_actor(request), form=form)
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.remove(actor=_actor(request), obj=obj)


MAX_CATALOGUE_BYTES = 2 * 1024 * 1024


class CatalogueUploadForm(forms.Form):
    """A catalogue file to apply."""

    catalogue = forms.FileField(help_text="TOML, at most 2 MB")

    def clean_catalogue(self) -> str:
        upload = self.cleaned_data["catalogue"]
        if upload.size > MAX_CATALOGUE_BYTES:
            raise forms.ValidationError("the file is larger than 2 MB")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("the file is not UTF-8 text") from None


def load_catalogue_view(request: HttpRequest) -> HttpResponse:
    """Admin page: apply an uploaded catalogue file (superusers only)."""
    if not request.user.is_superuser:
        raise PermissionDenied
    form = CatalogueUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue = parse_catalogue(form.cleaned_data["catalogue"], origin=request.FILES["catalogue"].name)
            changes = apply_catalogue(actor=_actor(request), catalogue=catalogue)
        except CatalogueError as error:
            form.add_error("catalogue", str(error))
        else:
            summary = f"{len(catalogue.publishers)} publishers, {len(catalogue.licenses)} licenses"
            messages.success(request, f"{summary}: {changes} changes" if changes else f"{summary}: already up to date")
            return HttpResponseRedirect(reverse("admin:inventory_publisher_changelist"))
    context = {**admin.site.each_context(request), "form": form, "title": "Load catalogue file"}
    return TemplateResponse(request, "admin/inventory/load_catalogue.html", context)


@admin.register(Publisher)
class PublisherAdmin(ServiceAdmin):
    """Publishers; changing a country recomputes the effective origin of every descendant."""

    change_list_template = "admin/inventory/catalogue_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        load = path("load-catalogue/", self.admin_site.admin_view(load_catalogue_view), name="inventory_load_catalogue")
        return [load, *super().get_urls()]

    list_display = ["name", "display_name", "country", "parent", "website"]
    list_filter = ["country"]
    search_fields = ["name", "display_name"]
    fields = ["name", "display_name", "country", "country_source", "parent", "website"]

    def get_readonly_fields(self, request: HttpRequest, obj: Publisher | None = None) -> list[str]:
        return ["name"] if obj else []

    def create(self, *, actor: Actor, form: forms.ModelForm) -> Publisher:
        return publishers.create_publisher(actor=actor, **form.cleaned_data)

    def update(self, *, actor: Actor, obj: Publisher, form: forms.ModelForm) -> Publisher:
        return publishers.update_publisher(actor=actor, publisher=obj, changes=_changes(form))

    def remove(self, *, actor: Actor, obj: Publisher) -> None:
        publishers.delete_publisher(actor=actor, publisher=obj)


@admin.register(PublisherNamespace)
class PublisherNamespaceAdmin(ServiceAdmin):
    """Hub namespaces of publishers, with the aliases of renamed ones."""

    list_display = ["namespace", "source", "publisher", "is_alias"]
    list_filter = ["source", "is_alias"]
    search_fields = ["namespace", "publisher__name"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def create(self, *, actor: Actor, form: forms.ModelForm) -> PublisherNamespace:
        return publishers.add_namespace(actor=actor, **form.cleaned_data)

    def remove(self, *, actor: Actor, obj: PublisherNamespace) -> None:
        publishers.remove_namespace(actor=actor, namespace=obj)


@admin.register(License)
class LicenseAdmin(ServiceAdmin):
    """The license catalogue."""

    change_list_template = "admin/inventory/catalogue_change_list.html"

    list_display = ["key", "name", "category", "commercial_use"]
    list_filter = ["category", "commercial_use"]
    search_fields = ["key", "name"]
    fields = ["key", "name", "category", "commercial_use", "obligations", "url"]

    def get_readonly_fields(self, request: HttpRequest, obj: License | None = None) -> list[str]:
        return ["key"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def create(self, *, actor: Actor, form: forms.ModelForm) -> License:
        return licenses.create_license(actor=actor, **form.cleaned_data)

    def update(self, *, actor: Actor, obj: License, form: forms.ModelForm) -> License:
        return licenses.update_license(actor=actor, license_=obj, changes=_changes(form))


@admin.register(LicenseAlias)
class LicenseAliasAdmin(ServiceAdmin):
    """Names hubs use for licenses."""

    list_display = ["alias", "license"]
    search_fields = ["alias", "license__key"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def create(self, *, actor: Actor, form: forms.ModelForm) -> LicenseAlias:
        return licenses.add_license_alias(
            actor=actor, license_=form.cleaned_data["license"], alias=form.cleaned_data["alias"]
        )

    def remove(self, *, actor: Actor, obj: LicenseAlias) -> None:
        licenses.remove_license_alias(actor=actor, alias=obj)


class CountryListFilter(admin.SimpleListFilter):
    """A country filter of the model list that applies the shared ``ModelFilter`` filter of the same
    name, so the admin filters exactly as the API and the portal do."""

    def countries(self) -> set[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        known = sorted(self.countries() - {UNKNOWN_COUNTRY, ""})
        return [(country, country) for country in known] + [(UNKNOWN_COUNTRY, UNKNOWN_COUNTRY)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> QuerySet[AIModel]:
        if not self.value():
            return queryset
        # That one filter alone: the whole FilterSet would also impose its own order on the list.
        return ModelFilter(queryset=queryset).filters[self.parameter_name].filter(queryset, self.value())


class EffectiveOriginFilter(CountryListFilter):
    """Models whose effective origin (their own and every ancestor's country) includes a country."""

    title = "effective origin"
    parameter_name = "origin"

    def countries(self) -> set[str]:
        return set(OriginCountry.objects.values_list("country", flat=True).distinct())


class PublisherCountryFilter(CountryListFilter):
    """Models by their own publisher's country only (unknown: no publisher, or no country)."""

    title = "publisher country"
    parameter_name = "publisher_country"

    def countries(self) -> set[str]:
        return set(Publisher.objects.filter(models__isnull=False).values_list("country", flat=True).distinct())


@admin.register(AIModel)
class AIModelAdmin(ServiceAdmin):
    """Models, with what the registry derives for each (read-only)."""

    list_display = [
        "upstream_id",
        "source",
        "publisher",
        "effective_origin",
        "declared_license",
        "audit_status",
        "refresh_state",
        "team",
    ]
    list_filter = [
        "source",
        EffectiveOriginFilter,
        PublisherCountryFilter,
        "audit_status",
        "refresh_state",
        "declared_license__category",
    ]
    search_fields = ["upstream_id", "description"]
    list_select_related = ["publisher", "declared_license"]
    derived = [
        "purl",
        "effective_origin",
        "inherited",
        "license_mismatch",
        "lineage_cuts",
        "audit_status",
        "refresh_state",
    ]
    editable = [
        "publisher",
        "declared_license",
        "task",
        "library",
        "architecture",
        "parameter_count",
        "gated",
        "description",
        "tags",
        "team",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AIModel]:
        # The list shows each model's effective origin: one query for all rows, not one per row.
        return super().get_queryset(request).prefetch_related("origin_countries")

    def get_fields(self, request: HttpRequest, obj: AIModel | None = None) -> list[str]:
        return ["source", "upstream_id", *self.editable, *(self.derived if obj else [])]

    def get_readonly_fields(self, request: HttpRequest, obj: AIModel | None = None) -> list[str]:
        return ["source", "upstream_id", *self.derived] if obj else []

    @admin.display(description="purl")
    def purl(self, obj: AIModel) -> str:
        return selectors.model_purl(obj)

    @admin.display(description="effective origin")
    def effective_origin(self, obj: AIModel) -> str:
        return ", ".join(selectors.effective_origin(obj))

    @admin.display(description="inherited licenses")
    def inherited(self, obj: AIModel) -> str:
        return ", ".join(obj.inherited_licenses.values_list("key", flat=True))

    def create(self, *, actor: Actor, form: forms.ModelForm) -> AIModel:
        model, _ = ai_models.register_model(actor=actor, **form.cleaned_data)
        return model

    def update(self, *, actor: Actor, obj: AIModel, form: forms.ModelForm) -> AIModel:
        return ai_models.update_model(actor=actor, model=obj, changes=_changes(form))

    def remove(self, *, actor: Actor, obj: AIModel) -> None:
        ai_models.delete_model(actor=actor, model=obj)


@admin.register(ModelAlias)
class ModelAliasAdmin(ServiceAdmin):
    """Former upstream ids of renamed models."""

    list_display = ["upstream_id", "source", "model"]
    search_fields = ["upstream_id", "model__upstream_id"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def create(self, *, actor: Actor, form: forms.ModelForm) -> ModelAlias:
        return ai_models.add_model_alias(actor=actor, **form.cleaned_data)


@admin.register(LineageEdge)
class LineageEdgeAdmin(ServiceAdmin):
    """Lineage edges; adding or removing one recomputes the child's descendants."""

    list_display = ["child", "relation", "parent_source", "parent_upstream_id", "parent", "origin"]
    list_filter = ["relation", "origin"]
    search_fields = ["child__upstream_id", "parent_upstream_id"]
    fields = ["child", "parent_source", "parent_upstream_id", "relation", "origin"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def create(self, *, actor: Actor, form: forms.ModelForm) -> LineageEdge:
        data = form.cleaned_data
        edge, _ = lineage.add_lineage_edge(
            actor=actor,
            child=data["child"],
            parent_source=data["parent_source"],
            parent_upstream_id=data["parent_upstream_id"],
            relation=data["relation"],
            origin_of_edge=data["origin"],
        )
        return edge

    def remove(self, *, actor: Actor, obj: LineageEdge) -> None:
        lineage.remove_lineage_edge(actor=actor, edge=obj)


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    """Revisions recorded by refreshes and deploy tooling."""

    list_display = ["model", "revision", "created_at"]
    search_fields = ["model__upstream_id", "revision"]


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    """Files of revisions."""

    list_display = ["path", "revision", "format", "pickle_based", "size", "sha256"]
    list_filter = ["format", "pickle_based"]
    search_fields = ["path", "sha256", "blob_id"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    """Deployments registered by deploy tooling; retire them here."""

    list_display = ["system", "environment", "revision", "team", "active", "last_seen"]
    list_filter = ["environment", "active", "team"]
    search_fields = ["system", "revision__model__upstream_id"]
    actions = ["retire"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_staff

    def get_readonly_fields(self, request: HttpRequest, obj: Deployment | None = None) -> list[str]:
        return [field.name for field in Deployment._meta.fields]

    def save_model(self, request: HttpRequest, obj: Deployment, form: forms.ModelForm, change: bool) -> None:
        """Nothing to save: every field is read-only here, and retiring goes through the action."""

    @admin.action(description="Retire the selected deployments")
    def retire(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        for deployment in queryset.filter(active=True):
            deployments.retire_deployment(principal=principal_for_user(request.user), deployment=deployment)
