"""Services for lineage edges: each change recomputes what the child and its descendants derive."""

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
    try:
        validate_upstream_id(parent_upstream_id)
    except ValidationError as error:
        raise ValidationError({"parent_upstream_id": error.messages}) from None
    parent = find_model(source=parent_source, upstream_id=parent_upstream_id)
    if parent is not None and parent.pk == child.pk:
        raise ValidationError({"parent_upstream_id": "a model cannot be its own parent"})
    with transaction.atomic():
        origin.lock_lineage()
        existing = LineageEdge.objects.filter(
            child=child, parent_source=parent_source, parent_upstream_id__iexact=parent_upstream_id
        ).first()
        if existing is not None:
            changes = {"relation": relation}
            if existing.parent is None and parent is not None:  # its parent has been registered since
                changes["parent"] = parent
            edge, changed = update_validated(actor=actor, instance=existing, changes=changes, allowed=set(changes))
            if "parent" in changed:
                origin.recompute(actor=actor, model_ids={child.id})
            return edge, False
        edge = create_validated(
            actor=actor,
            instance=LineageEdge(
                child=child,
                parent=parent,
                parent_source=parent_source,
                parent_upstream_id=parent_upstream_id,
                relation=relation,
                origin=origin_of_edge,
            ),
        )
        origin.recompute(actor=actor, model_ids={child.id})
        return edge, True


def remove_lineage_edge(*, actor: Actor, edge: LineageEdge) -> None:
    """Forget an edge; the child's origin and inherited licenses are recomputed."""
    with transaction.atomic():
        origin.lock_lineage()
        child_id = edge.child_id
        delete_logged(actor=actor, instance=edge)
        origin.recompute(actor=actor, model_ids={child_id})
