"""Services for lineage edges: each change recomputes what the child and its descendants derive."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from core.changelog import Actor
from inventory import origin
from inventory.models import AIModel, LineageEdge
from inventory.selectors import find_model
from inventory.services._common import create_validated, delete_logged, update_validated
from inventory.validators import validate_upstream_id


def add_lineage_edge(
    *, actor: Actor, child: AIModel, parent_source: str, parent_upstream_id: str, relation: str, origin_of_edge: str
) -> tuple[LineageEdge, bool]:
    """Record that ``child`` derives from the named parent (linked now if it is in the inventory).

    An edge that exists is returned (``created`` False), with its relation updated if it differs.
    """
    with transaction.atomic():
        origin.lock_lineage()
        edge, created, relinked = _upsert_edge(
            actor=actor,
            child=child,
            ref=EdgeRef(parent_source, parent_upstream_id, relation, origin_of_edge),
        )
        if created or relinked:
            origin.recompute(actor=actor, model_ids={child.id})
        return edge, created


@dataclass(frozen=True)
class EdgeRef:
    """A parent as a source names it, how the child derives from it, and where that was learned."""

    parent_source: str
    parent_upstream_id: str
    relation: str
    learned_from: str  # inventory.models.EdgeOrigin


def sync_edges(*, actor: Actor, child: AIModel, refs: Sequence[EdgeRef], origins: Sequence[str]) -> bool:
    """Make the child's edges learned from ``origins`` exactly ``refs``: add the missing ones,
    update relations, remove those no longer named; edges from elsewhere stay. One recompute at
    the end; returns whether anything the derived facts depend on changed."""
    with transaction.atomic(savepoint=False):
        origin.lock_lineage()
        changed = False
        kept = set()
        for ref in refs:
            edge, created, relinked = _upsert_edge(actor=actor, child=child, ref=ref)
            kept.add(edge.pk)
            changed |= created or relinked
        for edge in LineageEdge.objects.filter(child=child, origin__in=origins).exclude(pk__in=kept):
            delete_logged(actor=actor, instance=edge, message="no longer named upstream")
            changed = True
        if changed:
            origin.recompute(actor=actor, model_ids={child.id})
        return changed


def _upsert_edge(*, actor: Actor, child: AIModel, ref: EdgeRef) -> tuple[LineageEdge, bool, bool]:
    """Create the edge, or update the existing one's relation (and link a parent registered since).
    Returns the edge, whether it was created, and whether it was linked to its parent just now."""
    try:
        validate_upstream_id(ref.parent_upstream_id)
    except ValidationError as error:
        raise ValidationError({"parent_upstream_id": error.messages}) from None
    parent = find_model(source=ref.parent_source, upstream_id=ref.parent_upstream_id)
    if parent is not None and parent.pk == child.pk:
        raise ValidationError({"parent_upstream_id": "a model cannot be its own parent"})
    existing = LineageEdge.objects.filter(
        child=child, parent_source=ref.parent_source, parent_upstream_id__iexact=ref.parent_upstream_id
    ).first()
    if existing is None:
        edge = create_validated(
            actor=actor,
            instance=LineageEdge(
                child=child,
                parent=parent,
                parent_source=ref.parent_source,
                parent_upstream_id=ref.parent_upstream_id,
                relation=ref.relation,
                origin=ref.learned_from,
            ),
        )
        return edge, True, False
    changes: dict[str, object] = {"relation": ref.relation}
    if existing.parent is None and parent is not None:  # its parent has been registered since
        changes["parent"] = parent
    edge, changed = update_validated(actor=actor, instance=existing, changes=changes, allowed=set(changes))
    return edge, False, "parent" in changed


def remove_lineage_edge(*, actor: Actor, edge: LineageEdge) -> None:
    """Forget an edge; the child's origin and inherited licenses are recomputed."""
    with transaction.atomic():
        origin.lock_lineage()
        child_id = edge.child_id
        delete_logged(actor=actor, instance=edge)
        origin.recompute(actor=actor, model_ids={child_id})
