"""The inventory's pages: the model list (the API's filters, in the URL), its CSV, a model's page with
its lineage picture, the refresh button, and the deployments by system and environment."""

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone

from core.access import Capability
from core.filters import ChangeLogFilter
from core.models import ChangeLogEntry
from core.selectors import changes_visible_to
from governance import selectors as audits
from governance import violations
from governance.exports import cell, csv_lines
from governance.models import AuditReview, GateDecision, Violation
from inventory.filters import DeploymentFilter, ModelFilter
from inventory.models import (
    AIModel,
    AuditStatus,
    CommercialUse,
    Deployment,
    License,
    LicenseCategory,
    OriginCountry,
    Publisher,
    Source,
)
from inventory.refresh.jobs import refresh_as
from inventory.selectors import audit_status_of, effective_origin, lineage_of, model_purl, models_for_listing
from inventory.sources import REFRESHABLE_SOURCES
from portal.lineage import lineage_picture
from portal.views.base import PAGE_SIZE, PortalView

DEPLOYMENTS_PAGE_SIZE = 200
RECENT_DECISIONS = 10
RECENT_CHANGES = 25
ORDERINGS = (
    ("upstream_id", "upstream id, A to Z"),
    ("-upstream_id", "upstream id, Z to A"),
    ("-created_at", "newest first"),
    ("created_at", "oldest first"),
    ("-parameter_count", "most parameters first"),
    ("parameter_count", "fewest parameters first"),
)
CSV_COLUMNS = (
    "id", "source", "upstream_id", "purl", "publisher", "publisher_country", "effective_origin", "license",
    "license_category", "commercial_use", "audit_status", "task", "team",
)  # fmt: skip


def _distinct(queryset: QuerySet, field: str) -> list[str]:
    return list(queryset.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct())


def _filtered_models(request: HttpRequest) -> ModelFilter:
    return ModelFilter(request.GET, queryset=models_for_listing())


def _errors_response(request: HttpRequest, filters: Any, template: str, context: dict[str, Any]) -> HttpResponse:
    """The page with the FilterSet's errors (each naming its field) and nothing listed: a 400."""
    return render(request, template, {**context, "filter_errors": filters.errors, "page": None}, status=400)


class ModelListView(PortalView):
    """GET /models/: the API's ``ModelFilter`` from the query string, paged as the API pages."""

    template_name = "portal/inventory/model_list.html"

    def options(self) -> dict[str, Any]:
        return {
            "origin_countries": _distinct(OriginCountry.objects.all(), "country"),
            "publisher_countries": _distinct(Publisher.objects.all(), "country"),
            "licenses": _distinct(License.objects.all(), "key"),
            "environments": _distinct(Deployment.objects.filter(active=True), "environment"),
            "sources": Source.choices,
            "license_categories": LicenseCategory.choices,
            "commercial_uses": CommercialUse.choices,
            "audit_statuses": AuditStatus.choices,
            "orderings": ORDERINGS,
            "current": request_values(self.request),
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = _filtered_models(request)
        context = {"options": self.options(), "filter_errors": None}
        if not filters.is_valid():
            return _errors_response(request, filters, self.template_name, context)
        page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        rows = [
            {"model": model, "origin": effective_origin(model), "audit_status": audit_status_of(model, now)}
            for model in page.object_list
        ]
        export = reverse("portal:models-csv")
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            self.template_name,
            {**context, "page": page, "rows": rows, "csv_url": f"{export}?{query.urlencode()}" if query else export},
        )


def request_values(request: HttpRequest) -> dict[str, str]:
    """The filter values asked for, for the form to show them again."""
    return {name: request.GET.get(name, "") for name in ModelFilter.base_filters}


def _csv_rows(models: QuerySet[AIModel]) -> Iterator[list[object]]:
    yield list(CSV_COLUMNS)
    now = timezone.now()
    for model in models.iterator(chunk_size=500):
        publisher = model.publisher
        declared = model.declared_license
        yield [
            model.pk,
            model.source,
            cell(model.upstream_id),
            cell(model_purl(model)),
            cell(publisher.name if publisher else ""),
            cell(publisher.country if publisher else ""),
            " ".join(effective_origin(model)),
            cell(declared.key if declared else ""),
            declared.category if declared else "",
            declared.commercial_use if declared else "",
            audit_status_of(model, now),
            cell(model.task),
            cell(model.team),
        ]


class ModelCsvView(PortalView):
    """GET /models/export.csv: every model the same filters select, streamed; cells a spreadsheet would
    read as a formula are quoted as governance.exports quotes them."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = _filtered_models(request)
        if not filters.is_valid():
            lines = [f"{name}: {' '.join(errors)}" for name, errors in filters.errors.items()]
            return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
        response = StreamingHttpResponse(csv_lines(_csv_rows(filters.qs)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="models.csv"'
        return response


def _changed_fields(entry: ChangeLogEntry) -> list[str]:
    """The fields an update changed (none for a creation or a deletion)."""
    if not entry.before or not entry.after:
        return []
    return sorted(
        key for key in entry.before.keys() | entry.after.keys() if entry.before.get(key) != entry.after.get(key)
    )


class ModelDetailView(PortalView):
    """GET /models/<pk>/: everything the registry knows about one model, in a fixed number of queries."""

    template_name = "portal/inventory/model_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(models_for_listing().prefetch_related("revisions__artifacts"), pk=pk)
        now = timezone.now()
        lineage = lineage_of(model)
        reviews = list(AuditReview.objects.filter(model=model).select_related("revision"))
        found = list(Violation.objects.filter(model=model).select_related("policy").order_by("policy__name", "pk"))
        changes = ChangeLogFilter(
            {"object_type": AIModel._meta.label_lower, "object_id": str(model.pk)},
            queryset=changes_visible_to(self.principal),
        ).qs
        job = request.GET.get("job", "")
        return render(
            request,
            self.template_name,
            {
                "model": model,
                "purl": model_purl(model),
                "audit_status": audit_status_of(model, now),
                "lineage": lineage,
                "picture": lineage_picture(model, lineage),
                "reviews": [{"review": review, "state": audits.state_of(review, now)} for review in reviews],
                "coverage": audits.coverage_of_latest(model, now),
                "violations": [{"violation": v, "state": violations.state_of(v, now)} for v in found],
                "deployments": Deployment.objects.filter(revision__model=model)
                .select_related("revision")
                .order_by("-active", "system", "environment", "pk"),
                "decisions": GateDecision.objects.filter(model=model)[:RECENT_DECISIONS],
                "changes": [{"entry": entry, "fields": _changed_fields(entry)} for entry in changes[:RECENT_CHANGES]],
                "refreshable": model.source in REFRESHABLE_SOURCES,
                "job_id": int(job) if job.isascii() and job.isdigit() else None,
            },
        )


class ModelRefreshView(PortalView):
    """POST /models/<pk>/refresh/: start (or join) the model's refresh job, then show it on the page."""

    capabilities = {"post": Capability.EDIT}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(AIModel, pk=pk)
        job = refresh_as(self.principal, model)
        page = reverse("portal:model", args=[model.pk])
        if job is None:
            messages.warning(request, f"{model} is not refreshed from a hub, or not to be tried again yet.")
            return HttpResponseRedirect(page)
        messages.success(request, f"Refresh of {model} started (job {job.pk}).")
        return HttpResponseRedirect(f"{page}?job={job.pk}")


class DeploymentListView(PortalView):
    """GET /deployments/: the active deployments by system and environment (``DeploymentFilter``)."""

    template_name = "portal/inventory/deployments.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        active = Deployment.objects.filter(active=True)
        context = {
            "systems": _distinct(active, "system"),
            "environments": _distinct(active, "environment"),
            "current": {name: request.GET.get(name, "") for name in ("system", "environment")},
            "filter_errors": None,
        }
        filters = DeploymentFilter(
            request.GET,
            queryset=active.select_related("revision__model__publisher").order_by(
                "system", "environment", "revision__model__upstream_id", "pk"
            ),
        )
        if not filters.is_valid():
            return _errors_response(request, filters, self.template_name, context)
        page = Paginator(filters.qs, DEPLOYMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, self.template_name, {**context, "page": page})


urlpatterns = [
    path("models/", ModelListView.as_view(), name="models"),
    path("models/export.csv", ModelCsvView.as_view(), name="models-csv"),
    path("models/<int:pk>/", ModelDetailView.as_view(), name="model"),
    path("models/<int:pk>/refresh/", ModelRefreshView.as_view(), name="model-refresh"),
    path("deployments/", DeploymentListView.as_view(), name="deployments"),
]
