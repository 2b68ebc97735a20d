"""Services that record what refreshes learned from the models' hubs, many models at a time.

A refresh that finds the same snapshot as last time only stamps the time. Otherwise the model's
facts, its revision and artifacts, and its lineage edges follow the hub, the base models it names
are registered, and a change that governance cares about (license, revision, base models, gating,
new pickle-based files) is written to the change log as an ``upstream-change`` event.

Results are written in batches (one transaction and a fixed number of queries per batch), so a
run that refreshes thousands of models waits on the hub, not on the database.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from core import changelog, events
from core.changelog import Actor
from core.events import Event
from core.models import ChangeLogEntry
from inventory import origin
from inventory.events import ModelFactsChanged, UpstreamChanged
from inventory.models import (
    PICKLE_BASED_FORMATS,
    AIModel,
    EdgeOrigin,
    License,
    Publisher,
    RefreshState,
    Revision,
    Source,
)
from inventory.selectors import find_models, licenses_for_hub, parent_ids_of, publishers_of_namespaces
from inventory.services._common import field_changes
from inventory.services.ai_models import LINEAGE_FACTS, move_model, publisher_for_namespace, register_model
from inventory.services.lineage import EdgeRef, sync_edges
from inventory.services.revisions import RevisionInput, add_revisions, artifact_format
from inventory.sources.base import UpstreamRecord

UPSTREAM_CHANGE = "upstream-change"
# Edges a refresh owns: it adds and removes these; manual and BOM edges are never touched.
_HUB_EDGE_ORIGINS = (EdgeOrigin.HUB_TAGS, EdgeOrigin.MODEL_CARD)
_HUB_FACTS = [
    "publisher",
    "declared_license",
    "upstream_license",
    "task",
    "library",
    "architecture",
    "architecture_family",
    "parameter_count",
    "gated",
    "tags",
    "datasets",
    "evaluation_results",
]
_STATE_FIELDS = [
    "refresh_state",
    "refresh_error",
    "refresh_retry_at",
    "refreshed_at",
    "upstream_snapshot",
    "updated_at",
]


@dataclass
class RefreshOutcome:
    """What one refresh did: the base models it named (in the inventory now) and what changed."""

    parent_ids: list[int]
    upstream_changes: list[str] = field(default_factory=list)


@dataclass
class _Refreshed:
    model: AIModel
    record: UpstreamRecord
    snapshot: dict[str, Any]
    declared_license: License | None
    previous: dict[str, Any] | None = None  # the snapshot of the refresh before


def record_refreshes(*, actor: Actor, refreshed: Sequence[tuple[AIModel, UpstreamRecord]]) -> dict[int, RefreshOutcome]:
    """Bring each model in line with its hub's record (see the module docstring); by model id.

    The hub's facts are set again on every refresh, a curator's correction of them included. The
    models whose record changed are written in one transaction: on an error none of them is, and
    the caller may retry them one by one. A model deleted meanwhile has no outcome.
    """
    licenses = licenses_for_hub((record.license_id, record.license_name) for _, record in refreshed)
    items = [
        _Refreshed(model, record, record.snapshot(), licenses[(record.license_id, record.license_name)])
        for model, record in refreshed
    ]
    publishers = _owners(items)
    now = timezone.now()
    unchanged = [item.model.pk for item in items if _unchanged(item, publishers)]
    outcomes: dict[int, RefreshOutcome] = {}
    if unchanged:
        AIModel.objects.filter(pk__in=unchanged).update(refreshed_at=now)
        outcomes.update(
            (model_id, RefreshOutcome(parent_ids=parents)) for model_id, parents in parent_ids_of(unchanged).items()
        )
    changed = [item for item in items if item.model.pk not in outcomes]
    if changed:
        with transaction.atomic():
            origin.lock_lineage(
                changing={item.model.pk for item in changed},
                publishers_read={publisher.pk for publisher in publishers.values()},
            )
            # Read again under the locks: a curator may have given a namespace to another owner.
            owners = _owners(changed)
            while any(publishers.get(key) != owner for key, owner in owners.items()):
                origin.lock_lineage(publishers_read={owner.pk for owner in owners.values()})
                publishers = {**publishers, **owners}
                owners = _owners(changed)
            outcomes.update(_record_changes(actor=actor, items=changed, publishers=publishers, now=now))
    return outcomes


def _owners(items: Sequence[_Refreshed]) -> dict[tuple[str, str], Publisher]:
    """The publishers owning the records' namespaces, by (source, lowercased namespace)."""
    return {
        (source, key): publisher
        for source in {item.model.source for item in items}
        for key, publisher in publishers_of_namespaces(
            source=source, namespaces=[item.record.upstream_id.split("/")[0] for item in items]
        ).items()
    }


def _hub_facts(item: _Refreshed, publisher: Publisher | None) -> dict[str, Any]:
    """The model's fields as the hub's record has them."""
    return {
        "publisher": publisher,
        "declared_license": item.declared_license,
        "upstream_license": item.record.license_value[:200],
        "task": item.record.task[:100],
        "library": item.record.library[:100],
        "architecture": item.record.architecture[:100],
        "architecture_family": item.record.architecture_family[:100],
        "parameter_count": item.record.parameter_count,
        "gated": item.record.gated,
        "tags": list(item.record.tags),
        "datasets": _datasets(item),
        "evaluation_results": list(item.record.eval_results),
    }


def _datasets(item: _Refreshed) -> list[dict[str, str]]:
    """The datasets the record names, as the model stores them: by hub and id. Only Hugging Face
    dataset ids are stored so far; a record from another hub names none the registry can follow."""
    if item.model.source != Source.HUGGINGFACE:
        return []
    return [{"source": Source.HUGGINGFACE.value, "id": dataset_id} for dataset_id in item.record.datasets]


def _unchanged(item: _Refreshed, publishers: dict[tuple[str, str], Publisher]) -> bool:
    """Nothing to write but the time: the same snapshot, a successful last refresh, the same id,
    and every hub fact as the hub has it (no correction since)."""
    model = item.model
    if not (
        model.upstream_snapshot == item.snapshot
        and model.refresh_state == RefreshState.OK
        and model.upstream_id == item.record.upstream_id
    ):
        return False
    publisher = publishers.get((model.source, model.namespace.lower()))
    if publisher is None:
        return False
    return all(  # foreign keys compared by id, without loading the related rows
        getattr(model, model._meta.get_field(name).attname) == (value.pk if isinstance(value, Model) else value)
        for name, value in _hub_facts(item, publisher).items()
    )


def _record_changes(
    *, actor: Actor, items: list[_Refreshed], publishers: dict[tuple[str, str], Publisher], now: datetime
) -> dict[int, RefreshOutcome]:
    current = AIModel.objects.select_for_update().in_bulk([item.model.pk for item in items])
    items = [item for item in items if item.model.pk in current]  # deleted meanwhile: nothing to record
    entries: list[ChangeLogEntry] = []
    published: list[Event] = []
    lineage_changed: set[int] = set()
    for item in items:
        item.model = current[item.model.pk]
        if item.model.upstream_id != item.record.upstream_id:
            item.model = move_model(actor=actor, model=item.model, upstream_id=item.record.upstream_id)
        key = (item.model.source, item.model.namespace.lower())
        if key not in publishers:  # many models of a batch share a namespace
            publishers[key] = publisher_for_namespace(actor=actor, source=key[0], namespace=item.model.namespace)
        before = changelog.snapshot(item.model)
        lineage_changed |= _apply_facts(actor=actor, item=item, publisher=publishers[key], now=now, entries=entries)
        if changes := field_changes(before, changelog.snapshot(item.model)):
            published.append(ModelFactsChanged(item.model.pk, changes))
    for item in items:  # one plain UPDATE each: Django's bulk_update builds a CASE per field and row, far slower
        fields = {name: getattr(item.model, name) for name in [*_HUB_FACTS, *_STATE_FIELDS]}
        AIModel.objects.filter(pk=item.model.pk).update(**fields)
    _record_revisions(actor=actor, items=items, entries=entries)
    bases = _register_bases(actor=actor, items=items)
    refs_by_child = {
        item.model: [
            ref
            for ref in _edge_refs(item)
            # a base named by an id the model itself had before a move is no base
            if bases[ref.key].pk != item.model.pk
        ]
        for item in items
    }
    lineage_changed -= sync_edges(actor=actor, refs_by_child=refs_by_child, origins=_HUB_EDGE_ORIGINS)
    if lineage_changed:  # a new publisher or license, where no edge change recomputed it already
        origin.recompute(actor=actor, model_ids=lineage_changed)
    parents = parent_ids_of(item.model.pk for item in items)
    outcomes = {}
    for item in items:
        differences = upstream_differences(item.previous, item.snapshot)
        if differences:
            entries.append(
                changelog.entry(
                    actor=actor,
                    action=UPSTREAM_CHANGE,
                    instance=item.model,
                    before={name: before for name, (before, _) in differences.items()},
                    after={name: after for name, (_, after) in differences.items()},
                    message=f"changed upstream: {', '.join(differences)}",
                )
            )
            changes = {name: {"before": before, "after": after} for name, (before, after) in differences.items()}
            published.append(UpstreamChanged(item.model.pk, changes))
        outcomes[item.model.pk] = RefreshOutcome(
            parent_ids=parents[item.model.pk],
            upstream_changes=list(differences),
        )
    changelog.record_many(entries)
    events.record(actor=actor, events=published)
    return outcomes


def _apply_facts(
    *, actor: Actor, item: _Refreshed, publisher: Publisher, now: datetime, entries: list[ChangeLogEntry]
) -> set[int]:
    """Set the hub's facts and the refresh state on the (unsaved) model and log what changed;
    returns the model's id when its descendants' derived facts depend on the change."""
    model = item.model
    before = changelog.snapshot(model)
    for name, value in _hub_facts(item, publisher).items():
        setattr(model, name, value)
    model.full_clean(exclude=["publisher", "declared_license"], validate_unique=False, validate_constraints=False)
    after = changelog.snapshot(model)
    changed = {name for name in after if after[name] != before[name]}
    if changed:
        model.updated_at = now
        entries.append(changelog.update(actor=actor, instance=model, before=before, message="refreshed from the hub"))
    if model.refresh_state != RefreshState.OK or model.refresh_error:
        entries.append(_state_entry(actor, model, RefreshState.OK, ""))
    item.previous = model.upstream_snapshot
    model.refresh_state, model.refresh_error, model.refreshed_at = RefreshState.OK, "", now
    model.refresh_retry_at = None
    model.upstream_snapshot = item.snapshot
    return {model.pk} if changed & LINEAGE_FACTS else set()


def _record_revisions(*, actor: Actor, items: list[_Refreshed], entries: list[ChangeLogEntry]) -> None:
    """Each record's revision with its files and scan; a known revision gets the current scan."""
    wanted = [
        RevisionInput(
            model=item.model,
            revision=item.record.revision,
            artifacts=list(item.record.files),
            scan_done=item.record.security.done if item.record.security else None,
            scan_issues=list(item.record.security.files_with_issues) if item.record.security else [],
        )
        for item in items
        if item.record.revision
    ]
    rescanned = []
    for want, (revision, created) in zip(wanted, add_revisions(actor=actor, wanted=wanted), strict=True):
        if not created and (revision.scan_done, revision.scan_issues) != (want.scan_done, list(want.scan_issues)):
            before = changelog.snapshot(revision)
            revision.scan_done, revision.scan_issues = want.scan_done, list(want.scan_issues)
            entries.append(
                changelog.update(actor=actor, instance=revision, before=before, message="the hub's security scan")
            )
            rescanned.append(revision)
    Revision.objects.bulk_update(rescanned, ["scan_done", "scan_issues"])


def _edge_refs(item: _Refreshed) -> list[EdgeRef]:
    """The record's base models as edges, each to the hub its base lives on (maybe another than the model's)."""
    return [
        EdgeRef(base.lives_on(item.model.source), base.upstream_id, base.relation, base.learned_from)
        for base in item.record.base_models
    ]


def _register_bases(*, actor: Actor, items: list[_Refreshed]) -> dict[tuple[str, str], AIModel]:
    """The base models the records name, registered when they are new; by (source, lowercased id)."""
    names: dict[str, set[str]] = {}
    for item in items:
        for ref in _edge_refs(item):
            names.setdefault(ref.parent_source, set()).add(ref.parent_upstream_id)
    known = {
        (source, key): model
        for source, upstream_ids in names.items()
        for key, model in find_models(source=source, upstream_ids=upstream_ids).items()
    }
    for item in items:
        for ref in _edge_refs(item):
            if ref.key not in known:
                known[ref.key] = register_model(
                    actor=actor, source=ref.parent_source, upstream_id=ref.parent_upstream_id
                )[0]
    return known


def record_gone(*, actor: Actor, model: AIModel, reason: str) -> None:
    """The hub has no such model (any more): marked ``gone``; nothing about it is deleted."""
    now = timezone.now()
    _set_state(actor=actor, model=model, state=RefreshState.GONE, error=reason, refreshed_at=now, retry_at=None)


def record_failure(*, actor: Actor, model: AIModel, error: str, retry_after_seconds: float) -> None:
    """The refresh failed (after its retries); the model keeps its last known facts, and
    registrations and the schedule try it again ``retry_after_seconds`` from now at the earliest."""
    retry_at = timezone.now() + timedelta(seconds=retry_after_seconds)
    _set_state(actor=actor, model=model, state=RefreshState.ERROR, error=error, refreshed_at=None, retry_at=retry_at)


def _state_entry(actor: Actor, model: AIModel, state: str, error: str) -> ChangeLogEntry:
    return changelog.entry(
        actor=actor,
        action="update",
        instance=model,
        before={"refresh_state": model.refresh_state, "refresh_error": model.refresh_error},
        after={"refresh_state": state, "refresh_error": error},
        message=f"refresh: {state}" + (f": {error}" if error else ""),
    )


def _set_state(
    *, actor: Actor, model: AIModel, state: str, error: str, refreshed_at: datetime | None, retry_at: datetime | None
) -> None:
    """Record the outcome; a change of state is logged, a repeat of the same state is not."""
    with transaction.atomic():
        current = AIModel.objects.select_for_update().get(pk=model.pk)
        changes: dict[str, Any] = {"refresh_state": state, "refresh_error": error, "refresh_retry_at": retry_at}
        if refreshed_at is not None:
            changes["refreshed_at"] = refreshed_at
        AIModel.objects.filter(pk=model.pk).update(**changes)
        if current.refresh_state != state:
            changelog.record_many([_state_entry(actor, current, state, error)])
            # Policies read the refresh state: it is a fact of the model like the others.
            change = {"refresh_state": {"before": current.refresh_state, "after": state}}
            events.record(actor=actor, events=[ModelFactsChanged(model.pk, change)])


def _pickle_files(snapshot: dict[str, Any]) -> list[str]:
    return sorted(
        file["path"] for file in snapshot.get("files", []) if artifact_format(file["path"]) in PICKLE_BASED_FORMATS
    )


def _governed_facts(snapshot: dict[str, Any]) -> dict[str, Any]:
    bases = snapshot.get("base_models", [])
    return {
        "license": [snapshot.get("license_id"), snapshot.get("license_name")],
        "revision": snapshot.get("revision"),
        "base_models": sorted(f"{_base_label(base)} ({base['relation']})" for base in bases),
        "gated": snapshot.get("gated"),
    }


def _base_label(base: dict[str, Any]) -> str:
    """A base model as a change names it: with its hub when that is not the model's own."""
    source = base.get("source")  # empty, or absent in snapshots older than the field: the model's own hub
    return f"{source}:{base['upstream_id']}" if source else base["upstream_id"]


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
