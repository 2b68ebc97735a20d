"""The gate explainer (a model reference and an environment in, the decision and every reason out,
by the API's own code path: its request serializer parses and checks the input, ``governance.gate.ask``
decides and records) and the recorded decisions with the API's filters."""

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from api.governance.policies import GateDecisionFilter
from api.governance.policy_serializers import DECISIONS, GateRequestSerializer, gate_model_summary
from core.access import Capability
from governance import gate
from governance.exports import reasons_text
from governance.models import GateDecision
from portal.views.base import PAGE_SIZE, PortalView

FIELDS = ("model", "environment", "system")


class GateView(PortalView):
    """Anyone who reads sees the page; asking the gate needs REGISTER (deployers, editors, admins)."""

    capabilities = {"post": Capability.REGISTER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, values={"model": request.GET.get("model", ""), "environment": "", "system": ""})

    def post(self, request: HttpRequest) -> HttpResponse:
        values = {name: request.POST.get(name, "") for name in FIELDS}
        asked = GateRequestSerializer(data=values)  # the API's parsing and checks of a gate request
        if not asked.is_valid():
            errors = {field: [str(message) for message in messages] for field, messages in asked.errors.items()}
            return self._page(request, values=values, errors=errors, status=400)
        data = asked.validated_data
        decision = gate.ask(
            principal=self.principal, reference=data["reference"], asked_as=data["model"],
            environment=data["environment"], system=data["system"], artifacts=[],
        )  # fmt: skip
        return self._page(request, values=values, decision=decision)

    def _page(
        self,
        request: HttpRequest,
        *,
        values: dict[str, str],
        errors: dict[str, list[str]] | None = None,
        decision: GateDecision | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context: dict[str, Any] = {"values": values, "errors": errors or {}, "decision": decision}
        if decision is not None:
            context["summary"] = gate_model_summary(decision)
        return TemplateResponse(request, "portal/gate/explainer.html", context, status=status)


class DecisionsView(PortalView):
    """Recorded decisions, newest first, filtered as the API filters them (model, environment, decision)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        params = request.GET.copy()
        params.pop("page", None)
        decisions = GateDecision.objects.select_related("model").order_by("-created_at", "-id")
        chosen = GateDecisionFilter(params, queryset=decisions)
        valid = chosen.is_valid()
        page = Paginator(chosen.qs if valid else decisions.none(), PAGE_SIZE).get_page(request.GET.get("page"))
        filters = {name: value for name, value in params.items() if value}
        export = reverse("gate-decision-export") + (f"?{urlencode(filters)}" if filters else "")
        context = {
            "page": page,
            "rows": [{"decision": decision, "reasons": reasons_text(decision.reasons)} for decision in page],
            "values": {name: request.GET.get(name, "") for name in ("model", "environment", "decision")},
            "choices": DECISIONS,
            "errors": chosen.errors,
            "export": export,
        }
        return TemplateResponse(request, "portal/gate/decisions.html", context, status=200 if valid else 400)


urlpatterns = [
    path("gate/", GateView.as_view(), name="gate"),
    path("gate/decisions/", DecisionsView.as_view(), name="decisions"),
]
