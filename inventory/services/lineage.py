"""Services for lineage edges: each change recomputes what the child and its descendants derive."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from core import changelog
from core.changelog import Actor
from inventory import origin
from inventory.models import AIModel, LineageEdge
from inventory.selectors import find_models
from inventory.services._common import delete_logged
from inventory.validators import validate_upstream_id


def add_lineage_edge(
    *, actor: Actor, child: AIModel, parent_source: str, parent_upstream_id: str, relation: str, origin_of_edge: str
) -> tuple[LineageEdge, bool]:
    """Record that ``child`` derives from the named parent (linked now if it is in the inventory).

    An edge that exists is returned (``created`` False), with its relation updated if it differs.
    """
    with transaction.atomic():
        ref = EdgeRef(parent_source, parent_upstream_id, relation, origin_of_edge)
        _lock_for_edges({child: [ref]})
        upserted = _upsert_edges(actor=actor, refs_by_child={child: [ref]})
        if upserted.linked:
            origin.recompute(actor=actor, model_ids=upserted.linked)
        return upserted.edges[child.pk][0], bool(upserted.created)


def add_edges(*, actor: Actor, refs_by_child: Mapping[AIModel, Sequence["EdgeRef"]]) -> set[int]:
    """Add (or update) many edges without recomputing: for bulk work that holds the whole lineage
    and recomputes once at its end. Returns the children whose derived facts may have changed."""
    if not refs_by_child:
        return set()
    return _upsert_edges(actor=actor, refs_by_child=refs_by_child).linked


@dataclass(frozen=True)
class EdgeRef:
    """A parent as a source names it, how the child derives from it, and where that was learned."""

    parent_source: str
    parent_upstream_id: str
    relation: str
    learned_from: str  # inventory.models.EdgeOrigin

    @property
    def key(self) -> tuple[str, str]:
        return self.parent_source, self.parent_upstream_id.lower()


def sync_edges(*, actor: Actor, refs_by_child: Mapping[AIModel, Sequence[EdgeRef]], origins: Sequence[str]) -> set[int]:
    """Make each child's edges learned from ``origins`` exactly its ``refs``: add the missing ones,
    update relations, remove those no longer named; edges from elsewhere stay. One recompute at
    the end, for every child at once; returns the children whose derived facts may have changed."""
    with transaction.atomic(savepoint=False):
        _lock_for_edges(refs_by_child)
        upserted = _upsert_edges(actor=actor, refs_by_child=refs_by_child, managed=origins)
        kept = [edge.pk for edges in upserted.edges.values() for edge in edges]
        gone = list(LineageEdge.objects.filter(child__in=list(refs_by_child), origin__in=origins).exclude(pk__in=kept))
        changelog.record_many(changelog.deletions(actor=actor, instances=gone, message="no longer named upstream"))
        LineageEdge.objects.filter(pk__in=[edge.pk for edge in gone]).delete()
        changed = upserted.linked | {edge.child_id for edge in gone}
        if changed:
            origin.recompute(actor=actor, model_ids=changed)
        return changed


def _lock_for_edges(refs_by_child: Mapping[AIModel, Sequence["EdgeRef"]]) -> None:
    """Lock for writing edges: the children with their descendants, the parents named that are in
    the inventory, and the names of the others, so that a registration of one of them in progress
    commits first and the edge links to it."""
    parents = _named_parents(refs_by_child)
    names = {(ref.parent_source, ref.parent_upstream_id) for refs in refs_by_child.values() for ref in refs}
    origin.lock_lineage(changing={child.pk for child in refs_by_child}, reading=parents, names_read=names)
    registered_meanwhile = _named_parents(refs_by_child) - parents
    if registered_meanwhile:
        origin.lock_lineage(reading=registered_meanwhile)


def _named_parents(refs_by_child: Mapping[AIModel, Sequence[EdgeRef]]) -> set[int]:
    """The models in the inventory that the refs name as parents (one query per source)."""
    names_by_source: dict[str, set[str]] = defaultdict(set)
    for refs in refs_by_child.values():
        for ref in refs:
            names_by_source[ref.parent_source].add(ref.parent_upstream_id)
    return {
        model.pk
        for source, names in names_by_source.items()
        for model in find_models(source=source, upstream_ids=names).values()
    }


@dataclass
class _Upserted:
    edges: dict[int, list[LineageEdge]]  # by child id, in the order of the refs
    created: list[LineageEdge]
    linked: set[int]  # children with a parent linked or unlinked just now: their origins change


def _upsert_edges(
    *, actor: Actor, refs_by_child: Mapping[AIModel, Sequence[EdgeRef]], managed: Collection[str] | None = None
) -> _Upserted:
    """Create the edges that do not exist; update the relation of those that do, and link a parent
    registered since. With ``managed``, an existing edge learned elsewhere (a curator's, a BOM's)
    is left as it is. A fixed number of queries, whatever the number of edges."""
    names_by_source: dict[str, set[str]] = defaultdict(set)
    for refs in refs_by_child.values():
        for ref in refs:
            try:
                validate_upstream_id(ref.parent_upstream_id)
            except ValidationError as error:
                raise ValidationError({"parent_upstream_id": error.messages}) from None
            names_by_source[ref.parent_source].add(ref.parent_upstream_id)
    parents = {
        (source, key): model
        for source, names in names_by_source.items()
        for key, model in find_models(source=source, upstream_ids=names).items()
    }
    existing = {
        (edge.child_id, edge.parent_source, edge.parent_upstream_id.lower()): edge
        for edge in LineageEdge.objects.filter(child__in=list(refs_by_child))
    }
    result = _Upserted(edges=defaultdict(list), created=[], linked=set())
    updated: list[tuple[LineageEdge, dict]] = []
    for child, refs in refs_by_child.items():
        for ref in refs:
            parent = parents.get(ref.key)
            if parent is not None and parent.pk == child.pk:
                raise ValidationError({"parent_upstream_id": "a model cannot be its own parent"})
            edge = existing.get((child.pk, *ref.key))
            if edge is None:
                edge = _new_edge(child, parent, ref)
                existing[(child.pk, *ref.key)] = edge
                result.created.append(edge)
                result.linked.add(child.pk)
            elif managed is not None and edge.origin not in managed:
                pass  # the same parent, named by someone the caller does not speak for
            elif edge.relation != ref.relation or (edge.parent_id is None and parent is not None):
                updated.append((edge, changelog.snapshot(edge)))
                if edge.parent_id is None and parent is not None:  # its parent has been registered since
                    edge.parent = parent
                    result.linked.add(child.pk)
                edge.relation = ref.relation
            result.edges[child.pk].append(edge)
    LineageEdge.objects.bulk_create(result.created)
    LineageEdge.objects.bulk_update([edge for edge, _ in updated], ["relation", "parent"])
    changelog.record_many(
        [
            *changelog.creations(actor=actor, instances=result.created),
            *(changelog.update(actor=actor, instance=edge, before=before) for edge, before in updated),
        ]
    )
    return result


def _new_edge(child: AIModel, parent: AIModel | None, ref: EdgeRef) -> LineageEdge:
    """A validated, unsaved edge (the database checks its keys and uniqueness)."""
    edge = LineageEdge(
        child=child,
        parent=parent,
        parent_source=ref.parent_source,
        parent_upstream_id=ref.parent_upstream_id,
        relation=ref.relation,
        origin=ref.learned_from,
    )
    edge.full_clean(exclude=["child", "parent"], validate_unique=False, validate_constraints=False)
    return edge


def remove_lineage_edge(*, actor: Actor, edge: LineageEdge) -> None:
    """Forget an edge; the child's origin and inherited licenses are recomputed."""
    with transaction.atomic():
        origin.lock_lineage(changing={edge.child_id})
        child_id = edge.child_id
        delete_logged(actor=actor, instance=edge)
        origin.recompute(actor=actor, model_ids={child_id})
