"""Policies, violations and break-glass overrides: the policy list with its enable buttons, the policy
form (``governance.policy_forms.PolicyForm``, written by ``governance.policies``) with its versions and
a dry run before saving, the violations' triage list and waiver form (``governance.violations``), and
the overrides with their grant form and revoke buttons (``governance.gate``)."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import BooleanField, Count, ExpressionWrapper, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from api.governance.policies import ViolationFilter
from api.governance.policy_serializers import DRY_RUN_LIMIT, OverrideRequestSerializer
from core.access import Capability
from core.conflicts import Conflict
from governance import gate, policies, violations
from governance.conditions import OPERATORS, SUBJECTS
from governance.models import Override, Policy, PolicyAction, ReviewKind, Violation, ViolationState
from governance.policy_forms import PolicyForm, WaiveForm
from inventory.models import AIModel
from portal.forms import PrintableForm, refusal_text, show_refusal
from portal.views.base import PAGE_SIZE, PortalView

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _local_input() -> forms.DateTimeInput:
    """A ``datetime-local`` input, in the site's time zone."""
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)


def _bool(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").lower())


def _next_or(request: HttpRequest, fallback: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=False)
    return wanted if wanted and safe else fallback


# --- Policies -------------------------------------------------------------------------------------


def _open_violation_counts() -> Coalesce:
    """Each policy's violations open as of now (``violations.with_state``), counted in the list's query."""
    open_now = violations.with_state(Violation.objects.filter(policy=OuterRef("pk")), ViolationState.OPEN)
    counted = open_now.order_by().values("policy").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _policy_list(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    listed = Policy.objects.annotate(open_violations=_open_violation_counts()).order_by("name")
    return render(request, "portal/policies/policy_list.html", {"policies": listed, "error": error}, status=status)


class PolicyListView(PortalView):
    """GET /policies/: every policy with its scope, version and open violations (one query)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return _policy_list(request)


class PolicyEnableView(PortalView):
    """POST /policies/<pk>/enable/ with ``enabled=true|false``: a new version through ``update_policy``."""

    capabilities = {"post": Capability.ADMINISTER}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        policy = get_object_or_404(Policy, pk=pk)
        enabled = _bool(request.POST.get("enabled"))
        if enabled is None:
            return _policy_list(request, error="enabled: true or false", status=400)
        try:
            saved = policies.update_policy(actor=self.principal.actor, policy=policy, changes={"enabled": enabled})
        except ValidationError as refusal:
            return _policy_list(request, error=f"Policy {policy}: {refusal_text(refusal)}", status=400)
        state = "enabled" if saved.enabled else "disabled"
        messages.success(request, f"Policy {saved} is {state} (version {saved.version}).")
        return HttpResponseRedirect(_next_or(request, reverse("portal:policies")))


def condition_help() -> dict[str, Any]:
    """What a condition may say, from ``governance.conditions`` itself."""
    return {
        "subjects": [
            {"name": name, "operators": sorted(subject.operators), "takes_kind": subject.takes_kind}
            for name, subject in SUBJECTS.items()
        ],
        "operators": OPERATORS,
        "kinds": ReviewKind.values,
    }


class PortalPolicyForm(PrintableForm, PolicyForm):
    """The policy form shared with the admin, its text printable."""


def _policy_form(policy: Policy | None, *, data: Any = None, may_write: bool) -> PolicyForm:
    form = PortalPolicyForm(data, instance=policy or Policy())
    if not may_write:
        for field in form.fields.values():
            field.disabled = True
    return form


def _policy_page(
    request: HttpRequest,
    policy: Policy | None,
    form: PolicyForm,
    *,
    dry_run: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "policy": policy,
        "form": form,
        "versions": policy.versions.order_by("-version") if policy else [],
        "help": condition_help(),
        "dry_run": dry_run,
    }
    return render(request, "portal/policies/policy_form.html", context, status=status)


class PolicyFormView(PortalView):
    """GET /policies/new/ and /policies/<pk>/: the policy's definition and versions (anyone who reads);
    POST saves it through ``create_policy`` / ``update_policy`` (admins). A refused definition is shown
    on the form, each error naming its field (``conditions.1.value``), as a 400, and nothing is stored."""

    capabilities = {"post": Capability.ADMINISTER}

    def _policy(self, pk: int | None) -> Policy | None:
        return get_object_or_404(Policy, pk=pk) if pk is not None else None

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        policy = self._policy(pk)
        may_write = self.principal.can(Capability.ADMINISTER)
        if policy is None and not may_write:
            return HttpResponseRedirect(reverse("portal:policies"))
        return _policy_page(request, policy, _policy_form(policy, may_write=may_write))

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        policy = self._policy(pk)
        form = _policy_form(policy, data=request.POST, may_write=True)
        if form.is_valid():
            before = policy.version if policy else 0
            try:
                saved = form.write(actor=self.principal.actor)
            except ValidationError as refusal:
                show_refusal(form, refusal)
            else:
                if saved.version == before:
                    messages.info(request, f"Nothing changed: {saved} stays at version {saved.version}.")
                else:
                    messages.success(request, f"Policy {saved} saved (version {saved.version}).")
                return HttpResponseRedirect(reverse("portal:policy", args=[saved.pk]))
        shown = Policy.objects.get(pk=policy.pk) if policy else None  # the form changed the instance it read
        return _policy_page(request, shown, form, status=400)


def dry_run_of(form: PolicyForm) -> dict[str, Any]:
    """What a dry run of the form's definition finds: the models it would flag, or why it cannot run."""
    if not form.is_valid():
        return {"form": form, "valid": False, "rows": [], "count": 0}
    try:
        flagged = policies.dry_run(definition=form.definition())
    except ValidationError as refusal:
        show_refusal(form, refusal)
        return {"form": form, "valid": False, "rows": [], "count": 0}
    return {"form": form, "valid": True, "rows": flagged[:DRY_RUN_LIMIT], "count": len(flagged), "shown": DRY_RUN_LIMIT}


class PolicyDryRunView(PortalView):
    """POST /policies/dry-run/: the policy form's fields (``policy``: the policy edited, if any), not
    saved; which models the definition would flag now, with the conditions each meets. Asked with htmx
    it answers the results as a fragment (200 also when the definition is wrong, so that htmx shows
    the errors in place), otherwise the whole policy page with them (400 when wrong)."""

    capabilities = {"post": Capability.ADMINISTER}

    def post(self, request: HttpRequest) -> HttpResponse:
        wanted = request.POST.get("policy", "")
        policy = get_object_or_404(Policy, pk=int(wanted)) if wanted.isascii() and wanted.isdigit() else None
        form = _policy_form(policy, data=request.POST, may_write=True)
        form.fields["name"].required = False  # nothing is saved: a definition may be tried before it is named
        result = dry_run_of(form)
        if request.htmx:
            return render(request, "portal/policies/dry_run_results.html", {"dry_run": result})
        shown = Policy.objects.get(pk=policy.pk) if policy else None
        return _policy_page(request, shown, form, dry_run=result, status=200 if result["valid"] else 400)


# --- Violations -----------------------------------------------------------------------------------


def _violation_filters(request: HttpRequest) -> ViolationFilter:
    listed = Violation.objects.select_related("policy", "model").order_by("-changed_at", "-pk")
    return ViolationFilter(request.GET, queryset=listed)


class ViolationListView(PortalView):
    """GET /violations/: triage, filtered as the API filters (state as of now, action, policy, model), paged."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = _violation_filters(request)
        context = {
            "states": ViolationState.choices,
            "actions": PolicyAction.choices,
            "policies": Policy.objects.order_by("name").values("pk", "name"),
            "current": {name: request.GET.get(name, "") for name in ViolationFilter.base_filters},
            "filter_errors": None,
            "page": None,
        }
        if not filters.is_valid():
            return render(
                request, "portal/policies/violation_list.html", {**context, "filter_errors": filters.errors}, status=400
            )
        wanted_model = context["current"]["model"]
        page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        context |= {
            "page": page,
            "rows": [{"violation": v, "state": violations.state_of(v, now)} for v in page.object_list],
            "filtered_model": AIModel.objects.filter(pk=wanted_model).first() if wanted_model else None,
        }
        return render(request, "portal/policies/violation_list.html", context)


class PortalWaiveForm(PrintableForm, WaiveForm):
    """The waiver form with a ``datetime-local`` input for its end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        until = self.fields["until"]
        until.label, until.widget = "Expires at", _local_input()
        until.help_text = f"when the waiver ends and the violation opens again ({timezone.get_current_timezone_name()})"
        until.input_formats = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ViolationWaiveView(PortalView):
    """GET /violations/<pk>/waive/: the violation, its waiver if any, and the form (auditors); POST waives
    it through ``violations.waive`` as the viewer (400 for a refused form, 409 when it is not open)."""

    capabilities = {"post": Capability.AUDIT}
    template_name = "portal/policies/violation_waive.html"

    def _page(self, violation: Violation, form: WaiveForm, *, error: str = "", status: int = 200) -> HttpResponse:
        context = {
            "violation": violation,
            "state": violations.state_of(violation),
            "form": form,
            "error": error,
            "next": _next_or(self.request, ""),
        }
        return render(self.request, self.template_name, context, status=status)

    def _violation(self, pk: int) -> Violation:
        return get_object_or_404(Violation.objects.select_related("policy", "model"), pk=pk)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._page(self._violation(pk), PortalWaiveForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        violation = self._violation(pk)
        form = PortalWaiveForm(request.POST)
        if not form.is_valid():
            return self._page(violation, form, status=400)
        try:
            waived = violations.waive(principal=self.principal, violation=violation, **form.cleaned_data)
        except ValidationError as refusal:
            show_refusal(form, refusal, renamed={"expires_at": "until"})
            return self._page(violation, form, status=400)
        except Conflict as refusal:
            return self._page(violation, form, error=str(refusal), status=409)
        messages.success(request, f"Violation #{waived.pk} waived until {waived.waived_until:%Y-%m-%d %H:%M}.")
        return HttpResponseRedirect(_next_or(request, reverse("portal:violation-waive", args=[waived.pk])))


# --- Break-glass overrides ------------------------------------------------------------------------


class GrantForm(PrintableForm, forms.Form):
    """A break-glass override as the API takes it (``OverrideRequestSerializer`` checks and resolves it)."""

    model = forms.CharField(
        max_length=300, help_text="purl or source:namespace/name of a model in the inventory (no @revision)"
    )
    environment = forms.CharField(max_length=50, help_text="e.g. prod")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="why the gate is overridden")
    expires_at = forms.DateTimeField(
        widget=_local_input(), input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "expires_at"
        ].help_text = f"when the gate stops letting it through ({timezone.get_current_timezone_name()})"

    def request(self) -> dict[str, Any]:
        """The grant's arguments, resolved as the API resolves them (the model from its reference)."""
        data = self.cleaned_data
        asked = {**data, "expires_at": data["expires_at"].isoformat()}
        wanted = OverrideRequestSerializer(data=asked)
        if not wanted.is_valid():
            raise ValidationError({field: [str(error) for error in errors] for field, errors in wanted.errors.items()})
        return dict(wanted.validated_data)


def _reference_of(model: AIModel) -> str:
    return f"{model.source}:{model.upstream_id}"


class OverrideListView(PortalView):
    """GET /overrides/: the overrides, standing ones first; POST grants one through ``gate.grant_override``
    (admins), the model given by its reference as the API takes it (``?model=<id>`` fills it in)."""

    capabilities = {"post": Capability.ADMINISTER}
    template_name = "portal/policies/overrides.html"

    def _page(self, form: GrantForm, *, status: int = 200) -> HttpResponse:
        now = timezone.now()
        listed = (
            Override.objects.select_related("model")
            .annotate(is_standing=ExpressionWrapper(gate.standing(now), output_field=BooleanField()))
            .order_by("-is_standing", "-created_at", "-pk")
        )
        page = Paginator(listed, PAGE_SIZE).get_page(self.request.GET.get("page"))
        rows = [{"override": o, "state": gate.override_state(o, now)} for o in page.object_list]
        return render(self.request, self.template_name, {"page": page, "rows": rows, "form": form}, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        initial: dict[str, Any] = {"environment": request.GET.get("environment", "")}
        wanted = request.GET.get("model", "")
        if wanted.isascii() and wanted.isdigit() and (model := AIModel.objects.filter(pk=int(wanted)).first()):
            initial["model"] = _reference_of(model)
        return self._page(GrantForm(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = GrantForm(request.POST)
        if form.is_valid():
            try:
                override = gate.grant_override(principal=self.principal, **form.request())
            except ValidationError as refusal:
                show_refusal(form, refusal)
            else:
                messages.success(request, f"Granted: {override}.")
                return HttpResponseRedirect(reverse("portal:overrides"))
        return self._page(form, status=400)


class OverrideRevokeView(PortalView):
    """POST /overrides/<pk>/revoke/: end it now through ``gate.revoke_override`` (admins)."""

    capabilities = {"post": Capability.ADMINISTER}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        override = get_object_or_404(Override.objects.select_related("model"), pk=pk)
        already = override.revoked_at is not None
        gate.revoke_override(principal=self.principal, override=override)
        if already:
            messages.info(request, f"Override #{override.pk} was revoked already.")
        else:
            messages.success(request, f"Revoked: {override}.")
        return HttpResponseRedirect(reverse("portal:overrides"))


urlpatterns = [
    path("policies/", PolicyListView.as_view(), name="policies"),
    path("policies/new/", PolicyFormView.as_view(), name="policy-new"),
    path("policies/dry-run/", PolicyDryRunView.as_view(), name="policy-dry-run"),
    path("policies/<int:pk>/", PolicyFormView.as_view(), name="policy"),
    path("policies/<int:pk>/enable/", PolicyEnableView.as_view(), name="policy-enable"),
    path("violations/", ViolationListView.as_view(), name="violations"),
    path("violations/<int:pk>/waive/", ViolationWaiveView.as_view(), name="violation-waive"),
    path("overrides/", OverrideListView.as_view(), name="overrides"),
    path("overrides/<int:pk>/revoke/", OverrideRevokeView.as_view(), name="override-revoke"),
]
