"""Effective origin and inherited license terms: derived from the lineage graph, stored on each model.

The graph above a set of models is loaded level by level (one query per level, whatever the number
of models), then every model is walked in memory. Upstream data can make the graph anything: a walk
is bounded by ``LINEAGE_MAX_DEPTH``, safe against cycles, and records where it was cut.
"""

import hashlib
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core import changelog, events
from core.changelog import Actor
from inventory.events import DerivedFactsChanged
from inventory.models import UNKNOWN_COUNTRY, AIModel, LineageEdge, OriginCountry


@dataclass(frozen=True)
class ParentRef:
    """One edge upward: the parent's id when it is in the inventory, and how the child named it."""

    parent_id: int | None
    reference: str
    relation: str


@dataclass
class LineageGraph:
    """The lineage above some models: each node's parents, label, publisher country and license."""

    parents: dict[int, list[ParentRef]] = field(default_factory=dict)
    label: dict[int, str] = field(default_factory=dict)
    country: dict[int, str] = field(default_factory=dict)
    license_id: dict[int, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Derived:
    """What the registry derives for one model."""

    countries: frozenset[str]
    inherited_license_ids: frozenset[int]
    license_mismatch: bool
    cuts: tuple[dict[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "effective_origin": sorted(self.countries),
            "inherited_licenses": sorted(self.inherited_license_ids),
            "license_mismatch": self.license_mismatch,
            "lineage_cuts": list(self.cuts),
        }


def max_depth() -> int:
    return settings.LINEAGE_MAX_DEPTH


def load_ancestry(model_ids: set[int], depth: int) -> LineageGraph:
    """Load the graph up to ``depth`` levels above ``model_ids`` (edges one level further, to see cuts)."""
    graph = LineageGraph()
    frontier = set(model_ids)
    nodes = set(model_ids)
    for _ in range(depth + 1):
        if not frontier:
            break
        edges = LineageEdge.objects.filter(child_id__in=frontier).values_list(
            "child_id", "parent_id", "parent_source", "parent_upstream_id", "relation"
        )
        discovered: set[int] = set()
        for child_id, parent_id, parent_source, parent_upstream_id, relation in edges:
            reference = f"{parent_source}:{parent_upstream_id}"
            graph.parents.setdefault(child_id, []).append(ParentRef(parent_id, reference, relation))
            if parent_id is not None and parent_id not in nodes:
                discovered.add(parent_id)
        nodes |= discovered
        frontier = discovered
    for refs in graph.parents.values():
        refs.sort(key=lambda ref: (ref.parent_id or 0, ref.reference))  # the same walk on every run
    rows = AIModel.objects.filter(id__in=nodes).values_list(
        "id", "source", "upstream_id", "publisher__country", "declared_license_id"
    )
    for model_id, source, upstream_id, country, license_id in rows:
        graph.label[model_id] = f"{source}:{upstream_id}"
        graph.country[model_id] = country or UNKNOWN_COUNTRY
        graph.license_id[model_id] = license_id
    return graph


def _cycle_cuts(graph: LineageGraph, reached: set[int]) -> list[dict[str, str]]:
    """Edges that close a cycle among ``reached`` (an iterative depth-first search, linear in size)."""
    cuts = []
    state: dict[int, str] = {}  # "open" while on the current path, "done" after
    for root in sorted(reached):
        if root in state:
            continue
        stack = [(root, iter(graph.parents.get(root, [])))]
        state[root] = "open"
        while stack:
            node, pending = stack[-1]
            step = next((ref for ref in pending if ref.parent_id in reached), None)
            if step is None:
                state[node] = "done"
                stack.pop()
            elif state.get(step.parent_id) == "open":
                cuts.append({"reason": "cycle", "at": graph.label[node], "parent": graph.label[step.parent_id]})
            elif step.parent_id not in state:
                state[step.parent_id] = "open"
                stack.append((step.parent_id, iter(graph.parents.get(step.parent_id, []))))
    return cuts


def derive(graph: LineageGraph, model_id: int, depth: int) -> Derived:
    """Walk up from one model, breadth first, at most ``depth`` levels."""
    level = {model_id: 0}
    queue = deque([model_id])
    cuts: list[dict[str, str]] = []
    while queue:
        node = queue.popleft()
        for ref in graph.parents.get(node, []):
            if ref.parent_id is None:
                cuts.append({"reason": "missing_parent", "at": graph.label[node], "parent": ref.reference})
            elif ref.parent_id in level:
                continue  # reached already (a diamond, or a cycle: found below)
            elif level[node] == depth:
                cuts.append({"reason": "depth", "at": graph.label[node], "parent": ref.reference})
            else:
                level[ref.parent_id] = level[node] + 1
                queue.append(ref.parent_id)
    cuts.extend(_cycle_cuts(graph, set(level)))
    ancestors = set(level) - {model_id}
    countries = {graph.country[node] for node in level}
    if cuts:
        countries.add(UNKNOWN_COUNTRY)
    inherited = {graph.license_id[node] for node in ancestors} - {None}
    declared = graph.license_id[model_id]
    return Derived(
        countries=frozenset(countries),
        inherited_license_ids=frozenset(inherited),
        license_mismatch=bool(inherited - {declared}),
        cuts=tuple(sorted(cuts, key=lambda cut: (cut["reason"], cut["at"], cut["parent"]))),
    )


def descendants_of(model_ids: set[int], depth: int) -> set[int]:
    """The models and everything derived from them, up to ``depth`` levels down (one query per level)."""
    found = set(model_ids)
    frontier = set(model_ids)
    for _ in range(depth):
        if not frontier:
            break
        children = set(LineageEdge.objects.filter(parent_id__in=frontier).values_list("child_id", flat=True))
        frontier = children - found
        found |= frontier
    return found


def _stored(model_ids: set[int]) -> dict[int, Derived]:
    countries: dict[int, set[str]] = {model_id: set() for model_id in model_ids}
    for model_id, country in OriginCountry.objects.filter(model_id__in=model_ids).values_list("model_id", "country"):
        countries[model_id].add(country)
    licenses: dict[int, set[int]] = {model_id: set() for model_id in model_ids}
    through = AIModel.inherited_licenses.through.objects.filter(aimodel_id__in=model_ids)
    for model_id, license_id in through.values_list("aimodel_id", "license_id"):
        licenses[model_id].add(license_id)
    flags = AIModel.objects.filter(id__in=model_ids).values_list("id", "license_mismatch", "lineage_cuts")
    return {
        model_id: Derived(frozenset(countries[model_id]), frozenset(licenses[model_id]), mismatch, tuple(cuts))
        for model_id, mismatch, cuts in flags
    }


# Advisory-lock namespaces of lineage writers (PostgreSQL's two-key form, apart from any other lock).
_WHOLE_LINEAGE = 7_310  # key 0: every writer holds it shared; bulk work holds it alone
_MODEL = 7_311  # key: a model id
_PUBLISHER = 7_312  # key: a publisher id
_NEW_ID = 7_313  # key: a hash of an upstream id being registered
_NEW_NAMESPACE = 7_314  # key: a hash of a hub namespace getting its publisher


@dataclass(frozen=True)
class _Key:
    namespace: int
    key: int
    shared: bool


def _int4(value: int) -> int:
    """The advisory-lock key of an id: ids past 2**31 wrap around (two ids then merely share a lock)."""
    return (value + 2**31) % 2**32 - 2**31


def _hashed(text: str) -> int:
    """A 32-bit key for a name (two names sharing one merely take turns)."""
    return int.from_bytes(hashlib.sha256(text.lower().encode()).digest()[:4], "big", signed=True)


def _take(keys: Iterable[_Key]) -> None:
    """Take the locks in one order (namespace, key). Within one call that rules out waiting in a
    circle; a write that calls ``lock_lineage`` again later may still meet another in a circle,
    and PostgreSQL then refuses one of the two (its transaction rolls back whole)."""
    ordered = sorted(set(keys), key=lambda lock: (lock.namespace, lock.key, lock.shared))
    with connection.cursor() as cursor:
        for shared, run in itertools.groupby(ordered, key=lambda lock: lock.shared):
            locks = list(run)
            function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
            cursor.execute(
                f"SELECT count({function}(ns, k)) FROM (SELECT * FROM unnest(%s::int[], %s::int[]) AS t(ns, k)"
                " ORDER BY ns, k) AS ordered",
                [[lock.namespace for lock in locks], [lock.key for lock in locks]],
            )


def lock_lineage(
    *,
    changing: Collection[int] = (),
    reading: Collection[int] = (),
    publishers_read: Collection[int] = (),
    publishers_changing: Collection[int] = (),
    new_ids: Collection[tuple[str, str]] = (),
    names_read: Collection[tuple[str, str]] = (),
    new_namespaces: Collection[str] = (),
) -> set[int]:
    """Lock what a lineage write can affect, and nothing else; returns the models whose derived facts
    it must recompute (``changing`` and their descendants, one level past the depth bound).

    - ``changing``: models whose own facts or edges the write changes (locked with their descendants);
    - ``reading``: models whose facts it reads without changing them (the parent of a new edge);
    - ``publishers_read`` / ``publishers_changing``: publishers whose country it reads / changes;
    - ``new_ids``: ``(source, upstream_id)`` pairs it is about to register;
    - ``names_read``: ``(source, upstream_id)`` pairs it looks up, to link to them if they are
      registered (the parents a new edge names): a registration of one of them in progress commits
      first, so its model is found;
    - ``new_namespaces``: hub namespaces it is about to give a publisher (on any hub: the publisher's
      name is the namespace).

    Call it first, before reading anything, inside the write's transaction. Writers whose lineage
    has nothing in common lock nothing in common and run in parallel; two that overlap take turns,
    and the second sees everything the first committed. Descendants found only after locking (an
    edge committed meanwhile) are locked too.

    A write whose first lock would cover more than ``LINEAGE_LOCK_MAX_MODELS`` models and names
    locks the whole lineage instead (PostgreSQL keeps every lock in a table of fixed size). Past
    that bound, a write that holds the whole lineage takes nothing more, and one that already holds
    locks of its own never escalates (two such writers would wait for each other): it locks model
    by model. SQLite serializes writers anyway.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lineage locks are taken inside the transaction of the write that needs them")
    depth = max_depth()
    affected = descendants_of(set(changing), depth + 1)
    if connection.vendor != "postgresql":
        return affected
    if len(affected) + len(reading) + len(names_read) > settings.LINEAGE_LOCK_MAX_MODELS:
        held = _whole_lineage_held()
        if held is None:
            lock_whole_lineage()
        if held != "shared":  # the whole lineage is this write's
            return descendants_of(set(changing), depth + 1)
    keys = {_Key(_WHOLE_LINEAGE, 0, shared=True)}
    keys |= {_Key(_MODEL, _int4(model_id), shared=True) for model_id in set(reading) - affected}
    keys |= {_Key(_PUBLISHER, _int4(publisher_id), shared=True) for publisher_id in publishers_read}
    keys |= {_Key(_PUBLISHER, _int4(publisher_id), shared=False) for publisher_id in publishers_changing}
    keys |= {_Key(_NEW_ID, _hashed(f"{source}:{upstream_id}"), shared=False) for source, upstream_id in new_ids}
    keys |= {_Key(_NEW_ID, _hashed(f"{source}:{upstream_id}"), shared=True) for source, upstream_id in names_read}
    keys |= {_Key(_NEW_NAMESPACE, _hashed(namespace), shared=False) for namespace in new_namespaces}
    locked: set[int] = set()
    while affected - locked:
        keys |= {_Key(_MODEL, _int4(model_id), shared=False) for model_id in affected - locked}
        _take(keys)
        locked |= affected
        keys = set()
        affected = descendants_of(set(changing), depth + 1)  # as committed before our locks, and ours
    if not locked:
        _take(keys)
    return affected


def _whole_lineage_held() -> str | None:
    """Whether this transaction holds the whole-lineage lock: "shared", "exclusive" or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'"
            " AND classid = %s AND objid = 0 AND objsubid = 2",
            [_WHOLE_LINEAGE],
        )
        modes = {mode for (mode,) in cursor.fetchall()}
    if "ExclusiveLock" in modes:
        return "exclusive"
    return "shared" if "ShareLock" in modes else None


def lock_whole_lineage() -> None:
    """Bulk work (seeding, BOM ingest): every other lineage writer waits until this transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lineage locks are taken inside the transaction of the write that needs them")
    if connection.vendor == "postgresql":
        _take([_Key(_WHOLE_LINEAGE, 0, shared=False)])


def _flags(derived: Derived) -> tuple[bool, str]:
    return derived.license_mismatch, json.dumps(derived.cuts, sort_keys=True)


def _store_flags(derived: dict[int, Derived]) -> None:
    """Write each model's mismatch flag and cuts: one UPDATE per distinct value (most models share
    one), where bulk_update would build a CASE over every row and field."""
    groups: dict[tuple[bool, str], list[int]] = defaultdict(list)
    for model_id, facts in derived.items():
        groups[_flags(facts)].append(model_id)
    for (mismatch, cuts), model_ids in groups.items():
        AIModel.objects.filter(id__in=model_ids).update(license_mismatch=mismatch, lineage_cuts=json.loads(cuts))


def recompute(*, actor: Actor, model_ids: set[int]) -> set[int]:
    """Bring the stored origin and inherited licenses of these models (and their descendants) up to
    date; returns the ids whose derived facts changed, each with a change-log row.

    The number of queries grows with the depth of the graph, not with the number of models.
    """
    depth = max_depth()
    # A change reaches one level past the bound: there it turns a "depth" cut into another.
    model_ids = lock_lineage(changing=model_ids)
    if not model_ids:
        return set()
    graph = load_ancestry(model_ids, depth)
    before = _stored(model_ids)
    after = {model_id: derive(graph, model_id, depth) for model_id in before}
    changed = {model_id for model_id in after if after[model_id] != before[model_id]}
    if not changed:
        return changed

    OriginCountry.objects.filter(model_id__in=changed).delete()
    OriginCountry.objects.bulk_create(
        OriginCountry(model_id=model_id, country=country)
        for model_id in changed
        for country in after[model_id].countries
    )
    through = AIModel.inherited_licenses.through
    through.objects.filter(aimodel_id__in=changed).delete()
    through.objects.bulk_create(
        through(aimodel_id=model_id, license_id=license_id)
        for model_id in changed
        for license_id in after[model_id].inherited_license_ids
    )
    changed_models = list(AIModel.objects.filter(id__in=changed).only("id", "source", "upstream_id"))
    _store_flags(
        {model_id: after[model_id] for model_id in changed if _flags(after[model_id]) != _flags(before[model_id])}
    )
    events.record(
        actor=actor,
        events=[
            DerivedFactsChanged(model.id, before[model.id].as_dict(), after[model.id].as_dict())
            for model in changed_models
        ],
    )
    changelog.record_many(
        [
            changelog.entry(
                actor=actor,
                action="derive",
                instance=model,
                before=before[model.id].as_dict(),
                after=after[model.id].as_dict(),
                message="effective origin or inherited licenses recomputed",
            )
            for model in changed_models
        ]
    )
    return changed
