"""Django admin for policies, violations, break-glass overrides and gate decisions.

Policies are added and edited with a form whose definition is checked and written by
``governance.policies`` (each save a new version, in the change log; the versions are shown
read-only); a policy is disabled, never deleted. A dry run shows which models a definition would
flag, from the form before it is saved or for saved policies. Violations and decisions are
read-only: violations are waived through ``governance.violations.waive``, overrides granted and
revoked through ``governance.gate``, as the signed-in person; decisions export as CSV
(``governance.exports``). Refusals are shown as messages or on the form, never as errors.
"""

import csv
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.access import Capability
from core.admin import ReadOnlyAdmin
from governance import gate, policies, violations
from governance.admin.common import REFUSALS, ReadOnlyInline, principal_of, refusal_text, state_now_filter
from governance.exports import decision_rows
from governance.models import GateDecision, Override, Policy, PolicyVersion, Violation, ViolationState
from governance.policy_forms import PolicyForm, WaiveForm
from inventory.models import AIModel

DRY_RUN_SHOWN = 200  # models listed per policy on the dry-run page (all are counted)


def pretty_json(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def may_administer(request: HttpRequest) -> bool:
    return principal_of(request).can(Capability.ADMINISTER)


# --- Policies -------------------------------------------------------------------------------------


class PolicyVersionInline(ReadOnlyInline):
    """Every version of the policy, newest first, as it was defined and by whom."""

    model = PolicyVersion
    ordering = ["-version"]
    fields = ["version", "actor_name", "created_at", "defined_as"]
    readonly_fields = fields

    @admin.display(description="definition")
    def defined_as(self, version: PolicyVersion) -> str:
        return pretty_json(version.definition)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Policies: added and edited through the service (admins only), disabled rather than deleted."""

    form = PolicyForm
    list_display = ["name", "enabled", "action", "match", "scope", "condition_count", "version", "updated_at"]
    list_filter = ["enabled", "action"]
    search_fields = ["name", "description"]
    inlines = [PolicyVersionInline]
    actions = ["enable", "disable", "dry_run_selected"]
    change_form_template = "admin/governance/policy/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description", "enabled", "action"]}),
        ("Scope (empty: everywhere)", {"fields": ["environments", "tags", "teams"]}),
        ("Conditions", {"fields": ["match", "conditions"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and may_administer(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_change_permission(request, obj) and may_administer(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # decisions and violations keep what they were made under: disable instead

    def get_readonly_fields(self, request: HttpRequest, obj: Policy | None = None) -> list[str]:
        return ["version", "created_at", "updated_at"] if obj else []

    def get_fieldsets(self, request: HttpRequest, obj: Policy | None = None) -> list[tuple[str | None, dict]]:
        if obj is None:
            return self.fieldsets
        return [*self.fieldsets, ("Version", {"fields": ["version", "created_at", "updated_at"]})]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("dry-run/", view(self.dry_run_view), name="governance_policy_dry_run"),
            path("<int:policy_id>/dry-run/", view(self.dry_run_view), name="governance_policy_dry_run"),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Policy | None = None,
    ) -> HttpResponse:  # fmt: skip
        args = [obj.pk] if obj is not None and obj.pk else []
        context["dry_run_url"] = reverse("admin:governance_policy_dry_run", args=args)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="scope")
    def scope(self, policy: Policy) -> str:
        parts = [
            f"{label}: {', '.join(values)}"
            for label, values in (("env", policy.environments), ("tags", policy.tags), ("teams", policy.teams))
            if values
        ]
        return "; ".join(parts) or "everywhere"

    @admin.display(description="conditions")
    def condition_count(self, policy: Policy) -> int:
        return len(policy.conditions)

    # --- Writing, through the service --------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Policy, form: PolicyForm, change: bool) -> None:
        # Called once the form and the versions' formset are valid; the service writes the policy, its
        # new version, the change-log row and the event. (The formset, read-only, saves nothing.)
        before = obj.version if change else 0
        saved = form.write(actor=principal_of(request).actor)
        obj.pk, obj.version = saved.pk, saved.version
        if change and saved.version == before:
            self.message_user(request, f"Nothing changed: {saved} stays at version {saved.version}", messages.INFO)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Policy], enabled: bool) -> None:
        if not may_administer(request):
            self.message_user(request, "only admins write policies", messages.ERROR)
            return
        actor, done = principal_of(request).actor, 0
        for policy in queryset.order_by("pk"):
            if policy.enabled == enabled:
                continue
            try:
                policies.update_policy(actor=actor, policy=policy, changes={"enabled": enabled})
            except ValidationError as refusal:
                self.message_user(request, f"Policy {policy}: {refusal_text(refusal)}", messages.ERROR)
            else:
                done += 1
        state = "enabled" if enabled else "disabled"
        self.message_user(request, f"{done} polic{'ies' if done != 1 else 'y'} {state}", messages.SUCCESS)

    @admin.action(description="Enable the selected policies (a new version each)")
    def enable(self, request: HttpRequest, queryset: QuerySet[Policy]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected policies (a new version each)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Policy]) -> None:
        self._set_enabled(request, queryset, False)

    # --- Dry runs --------------------------------------------------------------------------------

    @admin.action(description="Dry run: which models would the selected policies flag")
    def dry_run_selected(self, request: HttpRequest, queryset: QuerySet[Policy]) -> TemplateResponse:
        results = [self._dry_run(str(policy), policies.definition_of(policy)) for policy in queryset.order_by("name")]
        return self._dry_run_page(request, results, back=reverse("admin:governance_policy_changelist"))

    def dry_run_view(self, request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
        """The policy form's content, not saved: which models it would flag (or what is wrong)."""
        policy = Policy.objects.filter(pk=policy_id).first() if policy_id else None
        if (policy_id and policy is None) or not self.has_view_permission(request, policy):
            raise PermissionDenied
        back = (
            reverse("admin:governance_policy_change", args=[policy.pk])
            if policy
            else reverse("admin:governance_policy_add")
        )
        if request.method != "POST":
            return HttpResponseRedirect(back)
        form = PolicyForm(request.POST, instance=policy or Policy())
        if not form.is_valid():
            return self._dry_run_page(request, [], back=back, form=form)
        title = form.cleaned_data["name"] or "the policy"
        return self._dry_run_page(request, [self._dry_run(f"{title} (not saved)", form.definition())], back=back)

    def _dry_run(self, title: str, definition: dict[str, Any]) -> dict[str, Any]:
        try:
            flagged = policies.dry_run(definition=definition)
        except ValidationError as refusal:
            return {"title": title, "error": refusal_text(refusal), "rows": [], "count": 0}
        rows = [
            {
                "model": item.model,
                "url": reverse("admin:inventory_aimodel_change", args=[item.model.pk]),
                "message": item.message,
            }
            for item in flagged[:DRY_RUN_SHOWN]
        ]
        return {"title": title, "error": "", "rows": rows, "count": len(flagged)}

    def _dry_run_page(
        self, request: HttpRequest, results: list[dict[str, Any]], *, back: str, form: PolicyForm | None = None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Dry run",
            "results": results,
            "shown": DRY_RUN_SHOWN,
            "form": form,
            "back": back,
        }
        return TemplateResponse(request, "admin/governance/policy/dry_run.html", context)


# --- Violations -----------------------------------------------------------------------------------


ViolationStateFilter = state_now_filter(
    ViolationState.choices,
    violations.with_state,
    "Violations by their state as of now (a waiver past its end is open again before the sweep stores it).",
)


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAdmin):
    """Violations, kept by governance: read-only; auditors waive them here."""

    list_display = ["id", "policy", "action", "model", "state_now", "message", "changed_at", "waived_until"]
    list_display_links = ["id", "policy"]
    list_filter = [ViolationStateFilter, "policy", "policy__action"]
    search_fields = ["model__upstream_id", "policy__name"]
    list_select_related = ["policy", "model"]
    actions = ["waive"]
    fields = [
        "policy",
        "model",
        "state_now",
        "state",
        "message",
        "policy_version",
        "first_seen",
        "changed_at",
        "resolved_at",
        "waiver_reason",
        "waived_by",
        "waived_until",
    ]
    readonly_fields = fields

    @admin.display(description="action", ordering="policy__action")
    def action(self, violation: Violation) -> str:
        return violation.policy.action

    @admin.display(description="state (as of now)")
    def state_now(self, violation: Violation) -> str:
        return ViolationState(violations.state_of(violation)).label

    @admin.action(description="Waive the selected violations (a reason, until a date)")
    def waive(self, request: HttpRequest, queryset: QuerySet[Violation]) -> TemplateResponse | None:
        form = WaiveForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            principal, done = principal_of(request), 0
            for violation in queryset.order_by("pk"):
                try:
                    violations.waive(principal=principal, violation=violation, **form.cleaned_data)
                except REFUSALS as refusal:
                    self.message_user(request, f"Violation #{violation.pk}: {refusal_text(refusal)}", messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(request, f"{done} violation{'s' if done != 1 else ''} waived", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Waive violations",
            "violations": queryset.select_related("policy", "model").order_by("pk"),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/governance/violation/waive.html", context)


# --- Break-glass overrides ------------------------------------------------------------------------


class StandingFilter(admin.SimpleListFilter):
    """Overrides that stand now, ran out, or were revoked."""

    title = "standing"
    parameter_name = "standing"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "active"), ("expired", "expired"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Override]) -> QuerySet[Override]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(gate.standing(now))
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True).exclude(gate.standing(now))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class GrantForm(forms.Form):
    """A break-glass override: the model, the environment, why, and until when."""

    model = forms.ModelChoiceField(
        queryset=AIModel.objects.all(),
        widget=ForeignKeyRawIdWidget(Override._meta.get_field("model").remote_field, admin.site),
        help_text="the model's id (the magnifier finds it)",
    )
    environment = forms.CharField(max_length=50)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))
    expires_at = forms.DateTimeField(help_text="when the gate stops letting it through; YYYY-MM-DD HH:MM")


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdmin):
    """Break-glass overrides: granted on their own page and revoked by an action (admins only)."""

    list_display = ["id", "model", "environment", "standing", "created_by", "created_at", "expires_at", "revoked_at"]
    list_display_links = ["id", "model"]
    list_filter = [StandingFilter, "environment"]
    search_fields = ["model__upstream_id", "reason", "created_by"]
    list_select_related = ["model"]
    actions = ["revoke"]
    change_list_template = "admin/governance/override/change_list.html"
    fields = ["model", "environment", "standing", "reason", "created_by", "created_at", "expires_at", "revoked_at"]
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [path("grant/", view(self.grant_view), name="governance_override_grant"), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "may_grant": may_administer(request)})

    @admin.display(description="standing")
    def standing(self, override: Override) -> str:
        if override.revoked_at is not None:
            return "revoked"
        return "active" if override.expires_at > timezone.now() else "expired"

    @admin.action(description="Revoke the selected overrides")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Override]) -> None:
        principal, done = principal_of(request), 0
        for override in queryset.order_by("pk"):
            if override.revoked_at is not None:
                self.message_user(request, f"Override #{override.pk} was already revoked", messages.WARNING)
                continue
            try:
                gate.revoke_override(principal=principal, override=override)
            except REFUSALS as refusal:
                self.message_user(request, f"Override #{override.pk}: {refusal_text(refusal)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} override{'s' if done != 1 else ''} revoked", messages.SUCCESS)

    def grant_view(self, request: HttpRequest) -> HttpResponse:
        """A page that grants an override through ``gate.grant_override`` as the signed-in person."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        initial = {"model": request.GET.get("model"), "environment": request.GET.get("environment")}
        form = GrantForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                override = gate.grant_override(principal=principal_of(request), **form.cleaned_data)
            except ValidationError as refusal:
                if hasattr(refusal, "error_dict") and set(refusal.error_dict) <= set(form.fields):
                    for field, errors in refusal.error_dict.items():
                        form.add_error(field, errors)
                else:
                    form.add_error(None, refusal_text(refusal))
            except PermissionDenied as refusal:
                self.message_user(request, refusal_text(refusal), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:governance_override_changelist"))
            else:
                self.message_user(request, f"Granted: {override}", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:governance_override_change", args=[override.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Grant a break-glass override",
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/governance/override/grant.html", context)


# --- Gate decisions -------------------------------------------------------------------------------


class OverriddenFilter(admin.SimpleListFilter):
    title = "break-glass"
    parameter_name = "overridden"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "by an override"), ("no", "by the policies")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[GateDecision]) -> QuerySet[GateDecision]:
        if self.value() in ("yes", "no"):
            return queryset.filter(~Q(override=None) if self.value() == "yes" else Q(override=None))
        return queryset


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    """The gate's decisions, newest first, with what they were made from; exported as CSV."""

    list_display = ["created_at", "decision", "reference", "model", "environment", "system", "actor_name"]
    list_display_links = ["created_at", "decision"]
    list_filter = ["decision", "environment", OverriddenFilter, "created_at"]
    search_fields = ["reference", "model__upstream_id", "request_id", "system", "actor_name"]
    list_select_related = ["model"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    fields = [
        "created_at",
        "decision",
        "reference",
        "model",
        "revision",
        "environment",
        "system",
        "actor_name",
        "request_id",
        "override",
        "reasons_shown",
        "policy_versions_shown",
        "artifacts_shown",
        "facts_shown",
    ]
    readonly_fields = fields

    @admin.display(description="reasons")
    def reasons_shown(self, decision: GateDecision) -> str:
        return pretty_json(decision.reasons)

    @admin.display(description="policy versions")
    def policy_versions_shown(self, decision: GateDecision) -> str:
        return pretty_json(decision.policy_versions)

    @admin.display(description="files checked")
    def artifacts_shown(self, decision: GateDecision) -> str:
        return pretty_json(decision.artifacts)

    @admin.display(description="facts")
    def facts_shown(self, decision: GateDecision) -> str:
        return pretty_json(decision.facts)

    @admin.action(description="Export the selected decisions as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[GateDecision]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="gate-decisions-{stamp}.csv"'
        decisions = queryset.order_by("-created_at", "-id")
        csv.writer(response).writerows(decision_rows(decisions.iterator(chunk_size=1000)))
        return response
