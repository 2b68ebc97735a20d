"""Violations: kept current per (policy, model) as facts change, waived by auditors, reopened when a
waiver runs out, resolved when the conditions no longer hold.

``evaluate`` re-evaluates the models it is given (all policies, or some) and writes only what
changed, each change logged. The subscribers call it for the models an event concerns; the
scheduled ``sweep`` calls it for the policies whose truth changes with time alone.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import changelog
from core.access import Capability, Principal
from core.changelog import Actor
from core.conflicts import Conflict
from governance.conditions import SUBJECTS
from governance.facts import facts_of, models_with_facts, revision_of
from governance.models import Policy, Violation, ViolationState
from governance.policies import applies_to, findings
from inventory.models import AIModel

GOVERNANCE = Actor.system("governance")
BATCH = 500  # models evaluated per transaction


def state_of(violation: Violation, now: datetime | None = None) -> str:
    """The violation's state as of ``now``: a waiver past its end is open again, before the sweep
    stores it."""
    lapsed = violation.waived_until is not None and violation.waived_until <= (now or timezone.now())
    return ViolationState.OPEN if violation.state == ViolationState.WAIVED and lapsed else violation.state


def with_state(violations: QuerySet[Violation], state: str, now: datetime | None = None) -> QuerySet[Violation]:
    """The violations whose ``state_of`` is ``state``."""
    lapsed = Q(state=ViolationState.WAIVED, waived_until__lte=now or timezone.now())
    if state == ViolationState.OPEN:
        return violations.filter(Q(state=state) | lapsed)
    return violations.filter(state=state).exclude(lapsed)


def evaluate(*, model_ids: Iterable[int], policy_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Re-evaluate the models against the policies (every policy when none are named): open what
    now holds, resolve what no longer does. Returns how many violations changed."""
    now = now or timezone.now()
    ids = sorted(set(model_ids))
    policies = Policy.objects.all() if policy_ids is None else Policy.objects.filter(pk__in=list(policy_ids))
    policies = list(policies.order_by("pk"))
    changed = 0
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            changed += _evaluate_batch(ids[start : start + BATCH], policies, now)
    return changed


def _evaluate_batch(ids: list[int], policies: list[Policy], now: datetime) -> int:
    # Evaluations of one model take turns (two events for one model may be delivered at once).
    locked = list(AIModel.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    existing = {
        (violation.policy_id, violation.model_id): violation
        for violation in Violation.objects.select_for_update().filter(model_id__in=locked, policy__in=policies)
    }
    changed = 0
    new: list[Violation] = []
    for model in models_with_facts(locked):
        facts = facts_of(model, revision_of(model, None), now)
        for policy in policies:
            met = findings(policy, facts) if policy.enabled and applies_to(policy, model) else []
            violation = existing.get((policy.pk, model.pk))
            changed += _record(
                policy=policy, model=model, violation=violation, message="; ".join(met), now=now, new=new
            )
    # The batch's new violations in one statement, and their change-log rows in another: a policy
    # evaluated over every model opens thousands at once.
    Violation.objects.bulk_create(new)
    changelog.record_many(changelog.creations(actor=GOVERNANCE, instances=new))
    return changed


def _record(
    *, policy: Policy, model: AIModel, violation: Violation | None, message: str, now: datetime, new: list[Violation]
) -> int:
    """Bring one (policy, model) row in line with what the policy finds; 1 when it changed. A new
    violation is added to ``new``, for the caller to create with the batch's others."""
    if violation is None:
        if not message:
            return 0
        new.append(
            Violation(
                policy=policy,
                model=model,
                message=message,
                policy_version=policy.version,
                first_seen=now,
                changed_at=now,
            )
        )
        return 1
    before = changelog.snapshot(violation)
    if not message:
        if violation.state == ViolationState.RESOLVED:
            return 0
        violation.state, violation.resolved_at = ViolationState.RESOLVED, now
    else:
        if violation.state == ViolationState.RESOLVED:  # it holds again
            violation.state, violation.resolved_at = ViolationState.OPEN, None
            violation.waiver_reason, violation.waived_by, violation.waived_until = "", "", None
        violation.message, violation.policy_version = message, policy.version
    if changelog.snapshot(violation) == before:
        return 0
    violation.changed_at = now
    violation.save()
    changelog.record_many([changelog.update(actor=GOVERNANCE, instance=violation, before=before)])
    return 1


def waive(*, principal: Principal, violation: Violation, reason: str, until: datetime) -> Violation:
    """An auditor accepts an open violation until ``until``, saying why; it reopens by itself then."""
    if not principal.can(Capability.AUDIT):
        raise PermissionDenied("only auditors waive violations")
    now = timezone.now()
    errors = {}
    if not reason.strip():
        errors["reason"] = "say why it is accepted"
    if until <= now:
        errors["expires_at"] = "must be in the future"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = Violation.objects.select_for_update().get(pk=violation.pk)
        if state_of(current, now) != ViolationState.OPEN:
            raise Conflict(f"violation #{current.pk} is {state_of(current, now)}: only an open one can be waived")
        before = changelog.snapshot(current)
        current.state, current.waiver_reason, current.waived_by, current.waived_until = (
            ViolationState.WAIVED, reason, principal.actor.name, until,
        )  # fmt: skip
        current.changed_at = now
        current.save()
        changelog.record(
            actor=principal.actor, action="waive", instance=current, before=before, after=changelog.snapshot(current)
        )
        return current


def time_dependent_policies() -> list[Policy]:
    """Enabled policies whose conditions can change truth with time alone."""
    return [
        policy
        for policy in Policy.objects.filter(enabled=True)
        if any(SUBJECTS[condition["subject"]].time_dependent for condition in policy.conditions)
    ]


def sweep(*, now: datetime | None = None) -> int:
    """The scheduled pass: waivers past their end open again, and the time-dependent policies are
    re-evaluated over every model. Returns how many violations changed."""
    now = now or timezone.now()
    changed = 0
    with transaction.atomic():
        for violation in Violation.objects.select_for_update().filter(
            state=ViolationState.WAIVED, waived_until__lte=now
        ):
            before = changelog.snapshot(violation)
            violation.state, violation.changed_at = ViolationState.OPEN, now
            violation.save()
            changelog.record(actor=GOVERNANCE, action="reopen", instance=violation, before=before,
                             after=changelog.snapshot(violation), message="its waiver ran out")  # fmt: skip
            changed += 1
    policies = time_dependent_policies()
    if policies:
        all_models = AIModel.objects.values_list("pk", flat=True)
        changed += evaluate(model_ids=all_models, policy_ids=[policy.pk for policy in policies], now=now)
    return changed
