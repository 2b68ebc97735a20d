"""The deploy gate: may this model (at this revision, with these files) go to this environment now?

Each answer is recorded with the facts and policy versions it was made from. Its query count is
fixed, whatever the lineage depth or the number of policies: the model with its facts and standing
override (``model_with_facts``), the enabled policies (only when one was written since this process
last read them), the model's waivers when a policy flags it, the revision's files when a pipeline
names some, and the decision's own row.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from core import changelog
from core.access import Capability, Principal
from core.request_context import current_request_id
from governance.facts import facts_of, model_with_facts, revision_of
from governance.models import GateDecision, Override, PolicyAction, Violation, ViolationState
from governance.policies import NEWEST_VERSION, applies_to, enabled_policies, findings
from inventory.models import AIModel, Artifact
from inventory.purls import ModelReference
from inventory.services.revisions import stored_revision

ALLOW, WARN, DENY = "allow", "warn", "deny"


@dataclass(frozen=True)
class ArtifactClaim:
    """A file a pipeline is about to ship: its path in the model folder and its digests."""

    path: str
    sha256: str = ""
    blob_id: str = ""  # git's id of the file (sha1 of "blob <size>\0" + content): how the hub names small files


def ask(
    *,
    principal: Principal,
    reference: ModelReference,
    asked_as: str,
    environment: str,
    system: str = "",
    artifacts: Sequence[ArtifactClaim] = (),
) -> GateDecision:
    """Decide and record: ``deny`` when a fail policy (not waived) flags the model, a file is unknown
    or differs, or the model or revision is not in the inventory; ``warn`` for a warn policy;
    ``allow`` otherwise, or when an admin's override stands for the model and environment."""
    if not principal.can(Capability.REGISTER):
        raise PermissionDenied("only deployers (and editors, admins) ask the gate")
    now = timezone.now()
    overrides = Override.objects.filter(standing(now), model=OuterRef("pk"), environment=environment)
    model = model_with_facts(
        source=reference.source,
        upstream_id=reference.upstream_id,
        # Read with the model, no query of their own: the standing override, and whether policies changed.
        annotations={
            "override_id": Subquery(overrides.order_by("-expires_at").values("pk")[:1]),
            "newest_policy_version": NEWEST_VERSION,
        },
    )
    context = {"asked_as": asked_as, "environment": environment, "system": system, "principal": principal}
    if model is None:
        reason = _reason(None, PolicyAction.FAIL, f"{reference.source}:{reference.upstream_id} is not in the inventory")
        return _record(**context, model=None, revision="", decision=DENY, reasons=[reason])
    wanted = stored_revision(model, reference.revision) if reference.revision else None
    revision = revision_of(model, wanted)
    if wanted and revision is None:
        reason = _reason(None, PolicyAction.FAIL, f"revision {wanted} of {model} is not recorded")
        return _record(**context, model=model, revision=wanted, decision=DENY, reasons=[reason])
    facts = facts_of(model, revision, now)
    enabled = enabled_policies(model.newest_policy_version)
    policies = [policy for policy in enabled if applies_to(policy, model, environment)]
    flagged = [(policy, met) for policy in policies if (met := findings(policy, facts))]
    waived = set()
    if flagged:  # only then can a waiver matter
        waivers = Violation.objects.filter(model=model, state=ViolationState.WAIVED, waived_until__gt=now)
        waived = set(waivers.values_list("policy_id", flat=True))
    reasons = [
        _reason(policy.name, policy.action, "; ".join(met), waived=policy.pk in waived) for policy, met in flagged
    ]
    recorded = list(revision.artifacts.all()) if revision and artifacts else []  # read only when files are named
    checked = _checked_artifacts(recorded, artifacts)
    reasons += [_reason(None, PolicyAction.FAIL, item["problem"]) for item in checked if item["problem"]]
    decision = _decision(reasons)
    override = Override.objects.get(pk=model.override_id) if model.override_id else None
    if override is not None:
        message = (
            f"break-glass override by {override.created_by} until {override.expires_at.isoformat()}: {override.reason}"
        )
        reasons.append(_reason(None, PolicyAction.INFO, message))
        decision = ALLOW
    return _record(
        **context, model=model, revision=revision.revision if revision else "", decision=decision, reasons=reasons,
        facts=facts, policy_versions={policy.name: policy.version for policy in policies}, artifacts=checked,
        override=override,
    )  # fmt: skip


def _reason(policy: str | None, action: str, message: str, *, waived: bool = False) -> dict[str, Any]:
    return {"policy": policy, "action": action, "message": message, "waived": waived}


def _decision(reasons: list[dict[str, Any]]) -> str:
    standing = {reason["action"] for reason in reasons if not reason["waived"]}
    return DENY if PolicyAction.FAIL in standing else WARN if PolicyAction.WARN in standing else ALLOW


def _checked_artifacts(recorded: list[Artifact], claims: Sequence[ArtifactClaim]) -> list[dict[str, Any]]:
    """Each claimed file against the revision's record: by sha256 where the hub gave one (LFS files),
    else by git blob id; ``problem`` says what does not match."""
    by_path = {artifact.path: artifact for artifact in recorded}
    checked = []
    for claim in claims:
        known = by_path.get(claim.path)
        if known is None:
            problem = f"file {claim.path} is not among the recorded files of this revision"
        elif known.sha256:
            problem = (
                ""
                if claim.sha256.lower() == known.sha256
                else f"file {claim.path} differs: its sha256 is not the recorded one"
            )
        elif known.blob_id:
            problem = (
                ""
                if claim.blob_id.lower() == known.blob_id
                else f"file {claim.path} differs: its git blob id is not the recorded one"
            )
        else:
            problem = f"file {claim.path} cannot be verified: the hub gave no digest of it"
        checked.append({"path": claim.path, "sha256": claim.sha256, "blob_id": claim.blob_id, "problem": problem})
    return checked


def _record(
    *,
    asked_as: str,
    environment: str,
    system: str,
    principal: Principal,
    model: AIModel | None,
    revision: str,
    decision: str,
    reasons: list[dict[str, Any]],
    facts: dict[str, Any] | None = None,
    policy_versions: dict[str, int] | None = None,
    artifacts: list[dict[str, Any]] | None = None,
    override: Override | None = None,
) -> GateDecision:
    return GateDecision.objects.create(
        actor_name=principal.actor.name, request_id=current_request_id(), reference=asked_as, model=model,
        revision=revision, environment=environment, system=system, decision=decision, reasons=reasons,
        facts=facts or {}, policy_versions=policy_versions or {}, artifacts=artifacts or [], override=override,
    )  # fmt: skip


# --- Break-glass overrides ------------------------------------------------------------------------


def grant_override(
    *, principal: Principal, model: AIModel, environment: str, reason: str, expires_at: datetime
) -> Override:
    """An admin lets the model through the gate in ``environment`` until ``expires_at``, saying why."""
    if not principal.can(Capability.ADMINISTER):
        raise PermissionDenied("only admins grant break-glass overrides")
    errors = {}
    if not reason.strip():
        errors["reason"] = "say why the gate is overridden"
    if expires_at <= timezone.now():
        errors["expires_at"] = "must be in the future"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        override = Override(
            model=model, environment=environment, reason=reason, created_by=principal.actor.name, expires_at=expires_at
        )
        override.full_clean()
        override.save()
        changelog.record(actor=principal.actor, action="create", instance=override, after=changelog.snapshot(override))
        return override


def revoke_override(*, principal: Principal, override: Override) -> Override:
    """End an override before its time (revoking it twice changes nothing)."""
    if not principal.can(Capability.ADMINISTER):
        raise PermissionDenied("only admins revoke break-glass overrides")
    with transaction.atomic():
        current = Override.objects.select_for_update().get(pk=override.pk)
        if current.revoked_at is None:
            before = changelog.snapshot(current)
            current.revoked_at = timezone.now()
            current.save(update_fields=["revoked_at"])
            changelog.record(
                actor=principal.actor,
                action="revoke",
                instance=current,
                before=before,
                after=changelog.snapshot(current),
            )
        return current


def standing(now: datetime | None = None) -> Q:
    """The overrides that let their model through now: neither revoked nor run out."""
    return Q(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def override_state(override: Override, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``, as of ``now``."""
    if override.revoked_at is not None:
        return "revoked"
    return "active" if override.expires_at > (now or timezone.now()) else "expired"
