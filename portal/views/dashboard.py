"""The dashboard: the inventory at a glance, each chart linking to the list it counts."""

from collections.abc import Callable
from typing import Any

from django.db.models import Count
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.generic import TemplateView

from core.models import DomainEvent
from governance.models import Violation, ViolationState
from governance.violations import with_state
from inventory.events import UpstreamChanged
from inventory.models import AIModel, Deployment, OriginCountry
from inventory.selectors import audit_status_counts
from portal.charts import bar_chart
from portal.views.base import PortalView

RECENT_CHANGES = 10
NONE = "none"  # the label of the bar counting the rows without a value (no list filters for those)


def _link(name: str, parameter: str) -> Callable[[str], str | None]:
    """The list filtered by the bar's value; no link for the bar of rows without one."""
    return lambda value: None if value == NONE else f"{reverse(name)}?{urlencode({parameter: value})}"


def _counts(rows: Any, key: str) -> dict[str, int]:
    return {str(row[key] or NONE): row["count"] for row in rows}


class DashboardView(PortalView, TemplateView):
    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        origins = OriginCountry.objects.values("country").annotate(count=Count("model_id", distinct=True))
        categories = AIModel.objects.values("declared_license__category").annotate(count=Count("pk"))
        violations = with_state(Violation.objects.all(), ViolationState.OPEN).values("policy__action")
        deployments = Deployment.objects.filter(active=True).values("environment").annotate(count=Count("pk"))
        changes = list(DomainEvent.objects.filter(kind=UpstreamChanged.kind).order_by("-pk")[:RECENT_CHANGES])
        changed = AIModel.objects.filter(pk__in=[event.payload["model_id"] for event in changes])
        models = {row["pk"]: row for row in changed.values("pk", "source", "upstream_id")}
        open_violations = violations.annotate(count=Count("pk"))
        return {
            **super().get_context_data(**kwargs),
            "model_count": AIModel.objects.count(),
            "charts": [
                bar_chart("Models by effective-origin country", _counts(origins, "country"),
                          _link("portal:models", "origin")),
                bar_chart("Models by license category", _counts(categories, "declared_license__category"),
                          _link("portal:models", "license_category")),
                bar_chart("Models by audit status", audit_status_counts(AIModel.objects.all()),
                          _link("portal:models", "audit_status")),
                bar_chart("Open violations by action", _counts(open_violations, "policy__action"),
                          _link("portal:violations", "action")),
                bar_chart("Active deployments by environment", _counts(deployments, "environment"),
                          _link("portal:deployments", "environment")),
            ],
            "recent_changes": [
                {"event": event, "model": models.get(event.payload["model_id"])} for event in changes
            ],
        }  # fmt: skip


urlpatterns = [path("", DashboardView.as_view(), name="dashboard")]
