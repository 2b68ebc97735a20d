"""Catalogue curation: publishers (their countries, which decide effective origins) and licenses.

Everyone may read the catalogue; changing it needs the administer capability. Writes go through
``inventory.services.publishers.update_publisher`` (a country change re-derives the effective origin
of the publisher's models and their descendants) and ``inventory.services.licenses.update_license``.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from core.access import Capability
from inventory.filters import PublisherFilter
from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    CommercialUse,
    License,
    LicenseAlias,
    LicenseCategory,
    Publisher,
    PublisherNamespace,
)
from inventory.services import licenses, publishers
from portal.forms import PrintableForm, show_refusal
from portal.views.base import PAGE_SIZE, PortalView

MODELS_SHOWN = 20


class PublisherForm(PrintableForm, forms.Form):
    """What a curator may change about a publisher; the service validates it (country: ISO code)."""

    display_name = forms.CharField(required=False, max_length=200)
    country = forms.CharField(
        required=False,
        max_length=20,
        help_text=f'ISO 3166-1 alpha-2 code (e.g. CN, US, FR), or "{UNKNOWN_COUNTRY}" (or empty) when not known',
    )
    country_source = forms.CharField(required=False, label="Country source (URL)")
    parent = forms.ModelChoiceField(queryset=Publisher.objects.none(), required=False, label="Parent publisher")
    website = forms.CharField(required=False, label="Website (URL)")

    def __init__(self, *args: Any, publisher: Publisher, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Publisher.objects.exclude(pk=publisher.pk).order_by("name")  # type: ignore[attr-defined]

    def clean_country(self) -> str:
        # The catalogue stores an unknown country as empty; the page lets people say "unknown".
        value = self.cleaned_data["country"].strip()
        return "" if value.lower() == UNKNOWN_COUNTRY else value


def _initial_publisher(publisher: Publisher) -> dict[str, Any]:
    return {
        "display_name": publisher.display_name,
        "country": publisher.country or UNKNOWN_COUNTRY,
        "country_source": publisher.country_source,
        "parent": publisher.parent_id,
        "website": publisher.website,
    }


class LicenseForm(PrintableForm, forms.Form):
    """A license's terms (its key is its identity and stays); the service validates them."""

    name = forms.CharField(max_length=200)
    # Plain text with a select to pick from: the model's choices decide what is valid, in the service.
    category = forms.CharField(widget=forms.Select(choices=LicenseCategory.choices))
    commercial_use = forms.CharField(widget=forms.Select(choices=CommercialUse.choices), label="Commercial use")
    url = forms.CharField(required=False, label="URL")
    obligations = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text='JSON, e.g. {"attribution": "Built with X", "user_threshold": 700000000}',
    )

    def clean_obligations(self) -> Any:
        value = self.cleaned_data["obligations"]
        return {} if value is None else value


def _initial_license(license_: License) -> dict[str, Any]:
    return {
        "name": license_.name,
        "category": license_.category,
        "commercial_use": license_.commercial_use,
        "url": license_.url,
        "obligations": license_.obligations,
    }


def _changed(initial: dict[str, Any], cleaned: dict[str, Any]) -> dict[str, Any]:
    """The submitted values that differ from the stored ones (a model instance compared by its key)."""
    changes = {}
    for name, value in cleaned.items():
        stored = initial.get(name)
        compared = value.pk if isinstance(value, Publisher) else value
        if name == "country":
            stored = "" if stored == UNKNOWN_COUNTRY else stored
        if compared != stored:
            changes[name] = value
    return changes


class CatalogueView(PortalView):
    """Publishers (country, namespaces, number of models) and licenses (terms, aliases)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        found = PublisherFilter(
            request.GET,
            queryset=Publisher.objects.annotate(model_count=Count("models"))
            .prefetch_related(
                Prefetch("namespaces", queryset=PublisherNamespace.objects.order_by("source", "namespace"))
            )
            .order_by("name", "id"),
        )
        page = Paginator(found.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        license_list = License.objects.prefetch_related("aliases").order_by("key", "id")
        context = {
            "filter": found,
            "page": page,
            "publishers": list(page.object_list),
            "licenses": list(license_list),
            "unknown_country": UNKNOWN_COUNTRY,
        }
        return render(request, "portal/catalogue/catalogue.html", context, status=400 if found.errors else 200)


class PublisherView(PortalView):
    """A publisher; admins change its country and details here."""

    capabilities = {"post": Capability.ADMINISTER}

    def _page(self, request: HttpRequest, publisher: Publisher, form: PublisherForm, status: int = 200) -> HttpResponse:
        owned = AIModel.objects.filter(publisher=publisher)
        models = owned.order_by("upstream_id").values("pk", "source", "upstream_id")[:MODELS_SHOWN]
        context = {"publisher": publisher, "form": form, "models": list(models), "model_count": owned.count()}
        return render(request, "portal/catalogue/publisher.html", context, status=status)

    def _publisher(self, pk: int) -> Publisher:
        return get_object_or_404(Publisher.objects.select_related("parent").prefetch_related("namespaces"), pk=pk)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        publisher = self._publisher(pk)
        return self._page(request, publisher, PublisherForm(initial=_initial_publisher(publisher), publisher=publisher))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        publisher = self._publisher(pk)
        initial = _initial_publisher(publisher)
        form = PublisherForm(request.POST, initial=initial, publisher=publisher)
        if form.is_valid():
            changes = _changed(initial, form.cleaned_data)
            try:
                publishers.update_publisher(actor=self.principal.actor, publisher=publisher, changes=changes)  # type: ignore[arg-type]
            except ValidationError as error:
                show_refusal(form, error)
            else:
                changed = ", ".join(sorted(changes)) if changes else "nothing changed"
                messages.success(request, f"Publisher {publisher.name} saved ({changed}).")
                return HttpResponseRedirect(reverse("portal:publisher", args=[publisher.pk]))
        return self._page(request, publisher, form, status=400)


class LicenseView(PortalView):
    """A license; admins change its terms here."""

    capabilities = {"post": Capability.ADMINISTER}

    def _page(self, request: HttpRequest, license_: License, form: LicenseForm, status: int = 200) -> HttpResponse:
        aliases = LicenseAlias.objects.filter(license=license_).order_by("alias").values_list("alias", flat=True)
        context = {"license": license_, "form": form, "aliases": list(aliases)}
        return render(request, "portal/catalogue/license.html", context, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        license_ = get_object_or_404(License, pk=pk)
        return self._page(request, license_, LicenseForm(initial=_initial_license(license_)))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        license_ = get_object_or_404(License, pk=pk)
        initial = _initial_license(license_)
        form = LicenseForm(request.POST, initial=initial)
        if form.is_valid():
            changes = _changed(initial, form.cleaned_data)
            try:
                licenses.update_license(actor=self.principal.actor, license_=license_, changes=changes)  # type: ignore[arg-type]
            except ValidationError as error:
                show_refusal(form, error)
            else:
                changed = ", ".join(sorted(changes)) if changes else "nothing changed"
                messages.success(request, f"License {license_.key} saved ({changed}).")
                return HttpResponseRedirect(reverse("portal:license", args=[license_.pk]))
        return self._page(request, license_, form, status=400)


urlpatterns = [
    path("catalogue/", CatalogueView.as_view(), name="catalogue"),
    path("catalogue/publishers/<int:pk>/", PublisherView.as_view(), name="publisher"),
    path("catalogue/licenses/<int:pk>/", LicenseView.as_view(), name="license"),
]
