"""Services that record what a refresh learned from a model's hub.

A refresh that finds the same snapshot as last time only stamps the time. Otherwise the model's
facts, its revision and artifacts, and its lineage edges follow the hub, the base models it names
are registered, and a change that governance cares about (license, revision, base models, gating,
new pickle-based files) is written to the change log as an ``upstream-change`` event.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import changelog
from core.changelog import Actor
from inventory import origin
from inventory.models import PICKLE_BASED_FORMATS, AIModel, EdgeOrigin, LineageEdge, RefreshState
from inventory.selectors import license_for_hub
from inventory.services._common import update_validated
from inventory.services.ai_models import move_model, publisher_for_namespace, register_model
from inventory.services.lineage import EdgeRef, sync_edges
from inventory.services.revisions import ArtifactInput, add_revision, artifact_format
from inventory.sources.base import UpstreamRecord

UPSTREAM_CHANGE = "upstream-change"
# Edges a refresh owns: it adds and removes these; manual and BOM edges are never touched.
_HUB_EDGE_ORIGINS = (EdgeOrigin.HUB_TAGS, EdgeOrigin.MODEL_CARD)
# Facts that the model's descendants derive from.
_LINEAGE_FACTS = {"publisher", "declared_license"}
_HUB_FACTS = {
    "publisher",
    "declared_license",
    "upstream_license",
    "task",
    "library",
    "architecture",
    "parameter_count",
    "gated",
    "tags",
}


@dataclass
class RefreshOutcome:
    """What one refresh did: the base models it named (in the inventory now) and what changed."""

    parent_ids: list[int]
    changed: bool
    upstream_changes: list[str] = field(default_factory=list)


def record_refresh(*, actor: Actor, model: AIModel, record: UpstreamRecord) -> RefreshOutcome:
    """Bring the model in line with the hub's record (see the module docstring)."""
    snapshot = record.snapshot()
    declared_license = license_for_hub(license_id=record.license_id, license_name=record.license_name)
    now = timezone.now()
    unchanged = (
        model.upstream_snapshot == snapshot
        and model.refresh_state == RefreshState.OK
        and model.upstream_id == record.upstream_id
        and model.declared_license_id == (declared_license.pk if declared_license else None)
    )
    if unchanged:
        AIModel.objects.filter(pk=model.pk).update(refreshed_at=now)
        return RefreshOutcome(parent_ids=parent_ids(model), changed=False)
    with transaction.atomic():
        origin.lock_lineage()
        model = AIModel.objects.select_for_update().get(pk=model.pk)
        previous = model.upstream_snapshot
        if model.upstream_id != record.upstream_id:
            model = move_model(actor=actor, model=model, upstream_id=record.upstream_id)
        model, changed_facts = update_validated(
            actor=actor,
            instance=model,
            changes=_facts(actor=actor, model=model, record=record, declared_license=declared_license),
            allowed=_HUB_FACTS,
            message="refreshed from the hub",
            check_constraints=False,  # values normalized by the source; the database still checks
        )
        if record.revision:
            _record_revision(actor=actor, model=model, record=record)
        parents = [
            register_model(actor=actor, source=model.source, upstream_id=base.upstream_id)[0]
            for base in record.base_models
        ]
        edges_changed = sync_edges(
            actor=actor,
            child=model,
            refs=[
                EdgeRef(model.source, base.upstream_id, base.relation, base.learned_from) for base in record.base_models
            ],
            origins=_HUB_EDGE_ORIGINS,
        )
        if changed_facts & _LINEAGE_FACTS and not edges_changed:  # sync_edges recomputed otherwise
            origin.recompute(actor=actor, model_ids={model.id})
        differences = upstream_differences(previous, snapshot)
        if differences:
            changelog.record(
                actor=actor,
                action=UPSTREAM_CHANGE,
                instance=model,
                before={name: before for name, (before, _) in differences.items()},
                after={name: after for name, (_, after) in differences.items()},
                message=f"changed upstream: {', '.join(differences)}",
            )
        _set_state(
            actor=actor, model=model, state=RefreshState.OK, error="", refreshed_at=now, upstream_snapshot=snapshot
        )
        return RefreshOutcome(
            parent_ids=sorted({parent.pk for parent in parents} - {model.pk}),
            changed=True,
            upstream_changes=list(differences),
        )


def record_gone(*, actor: Actor, model: AIModel, reason: str) -> None:
    """The hub has no such model (any more): marked ``gone``; nothing about it is deleted."""
    _set_state(actor=actor, model=model, state=RefreshState.GONE, error=reason, refreshed_at=timezone.now())


def record_failure(*, actor: Actor, model: AIModel, error: str) -> None:
    """The refresh failed (after its retries); the model keeps its last known facts."""
    _set_state(actor=actor, model=model, state=RefreshState.ERROR, error=error, refreshed_at=None)


def _set_state(
    *, actor: Actor, model: AIModel, state: str, error: str, refreshed_at: datetime | None, **also: Any
) -> None:
    """Record the outcome (and the fields in ``also``); a change of state is logged, a repeat of the
    same state is not."""
    with transaction.atomic(savepoint=False):
        current = AIModel.objects.select_for_update().only("refresh_state", "refresh_error").get(pk=model.pk)
        changes: dict[str, Any] = {"refresh_state": state, "refresh_error": error, **also}
        if refreshed_at is not None:
            changes["refreshed_at"] = refreshed_at
        AIModel.objects.filter(pk=model.pk).update(**changes)
        if current.refresh_state != state:
            changelog.record(
                actor=actor,
                action="update",
                instance=model,
                before={"refresh_state": current.refresh_state, "refresh_error": current.refresh_error},
                after={"refresh_state": state, "refresh_error": error},
                message=f"refresh: {state}" + (f": {error}" if error else ""),
            )


def _facts(*, actor: Actor, model: AIModel, record: UpstreamRecord, declared_license: Any) -> dict[str, Any]:
    return {
        "publisher": publisher_for_namespace(actor=actor, source=model.source, namespace=model.namespace),
        "declared_license": declared_license,
        "upstream_license": record.license_value[:200],
        "task": record.task[:100],
        "library": record.library[:100],
        "architecture": record.architecture[:100],
        "parameter_count": record.parameter_count,
        "gated": record.gated,
        "tags": list(record.tags),
    }


def _record_revision(*, actor: Actor, model: AIModel, record: UpstreamRecord) -> None:
    scan_done = record.security.done if record.security else None
    scan_issues = list(record.security.files_with_issues) if record.security else []
    revision, created = add_revision(
        actor=actor,
        model=model,
        revision=record.revision,
        artifacts=[ArtifactInput(path=file.path, size=file.size, sha256=file.sha256) for file in record.files],
        scan_done=scan_done,
        scan_issues=scan_issues,
    )
    if not created and (revision.scan_done, revision.scan_issues) != (scan_done, scan_issues):
        update_validated(
            actor=actor,
            instance=revision,
            changes={"scan_done": scan_done, "scan_issues": scan_issues},
            allowed={"scan_done", "scan_issues"},
            message="the hub's security scan",
            check_constraints=False,
        )


def parent_ids(model: AIModel) -> list[int]:
    return list(
        LineageEdge.objects.filter(child=model, parent__isnull=False)
        .values_list("parent_id", flat=True)
        .order_by("parent_id")
    )


def _pickle_files(snapshot: dict[str, Any]) -> list[str]:
    return sorted(
        file["path"] for file in snapshot.get("files", []) if artifact_format(file["path"]) in PICKLE_BASED_FORMATS
    )


def _governed_facts(snapshot: dict[str, Any]) -> dict[str, Any]:
    bases = snapshot.get("base_models", [])
    return {
        "license": [snapshot.get("license_id"), snapshot.get("license_name")],
        "revision": snapshot.get("revision"),
        "base_models": sorted(f"{base['upstream_id']} ({base['relation']})" for base in bases),
        "gated": snapshot.get("gated"),
    }


def upstream_differences(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The facts governance acts on that differ from the previous snapshot, as (before, after).
    A first refresh has nothing to compare with, so it reports none."""
    if not previous:
        return {}
    before, after = _governed_facts(previous), _governed_facts(current)
    differences = {name: (before[name], after[name]) for name in after if before[name] != after[name]}
    new_pickles = sorted(set(_pickle_files(current)) - set(_pickle_files(previous)))
    if new_pickles:
        differences["pickle_files"] = (_pickle_files(previous), _pickle_files(current))
    return differences
