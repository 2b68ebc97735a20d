"""Loading what a BOM says about a chunk of models, in a fixed number of queries whatever its size.

Everything is read with ``values()`` (plain dicts and tuples, no model instances: the BOM path is
built for 100,000 models). For a chunk: the models with their publisher, declared license and the
revision their component describes; their origin countries, inherited licenses, the files of those
revisions, their counting audit reviews, open violations and active deployments; then their lineage
level by level (one query per level, at most ``LINEAGE_MAX_DEPTH`` + 1) and the identity of every
ancestor reached (one query). The count does not depend on the number of models in the chunk.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Expression, F, OuterRef, Subquery
from django.utils import timezone

from boms.purls import model_purl
from governance.models import AuditReview, Violation, ViolationState
from governance.selectors import NOT_COUNTING, coverage
from governance.violations import with_state
from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    Artifact,
    AuditStatus,
    Deployment,
    LineageEdge,
    OriginCountry,
    Revision,
)

# The fields of a model row every component needs (its identity), and those only a full component reads.
IDENTITY_FIELDS = (
    "id",
    "source",
    "upstream_id",
    "publisher__name",
    "publisher__display_name",
    "publisher__country",
    "publisher__website",
    "declared_license__key",
    "declared_license__name",
    "declared_license__url",
)
FULL_FIELDS = (
    "task",
    "architecture",
    "architecture_family",
    "datasets",
    "evaluation_results",
    "license_mismatch",
    "lineage_cuts",
)
_LATEST = Revision.objects.filter(model=OuterRef("pk")).order_by("-created_at", "-id")


class IdIn(Expression):
    """``<column> IN (<ids>)`` as a filter, with the ids bound as one array on PostgreSQL
    (``<column> = ANY(%s)``); a plain ``IN`` list elsewhere (SQLite).

    A chunk's queries each name a thousand ids: as ``pk__in`` Django resolves and psycopg renders a
    placeholder per id, which cost a fifth of the time of a document.
    """

    output_field = BooleanField()

    def __init__(self, column: str, ids: Iterable[int]) -> None:
        super().__init__()
        self.column: Any = F(column)
        self.ids = list(ids)

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> "IdIn":
        resolved = self.copy()
        resolved.column = self.column.resolve_expression(query, *args, **kwargs)
        return resolved

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{column} = ANY(%s)", (*params, self.ids)
        if not self.ids:
            return "1 = 0", tuple(params)
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)


@dataclass(frozen=True)
class Entry:
    """One model component a scope asks for: the model at a revision (None: its latest recorded one)."""

    model_id: int
    revision_id: int | None = None


@dataclass(frozen=True)
class LineageLink:
    """One edge of a model's lineage as the walk met it: ``child_id`` derives from the parent."""

    child_id: int
    parent_id: int | None  # None: the parent is named but not in the inventory
    parent_source: str
    parent_upstream_id: str
    relation: str
    depth: int  # 1 for the model's own parents


@dataclass
class AuditFacts:
    """The model's audit summary for its revision: status, when it runs out, the conditions it rests on."""

    status: str
    expires_at: datetime | None
    conditions: list[str]


@dataclass
class ModelFacts:
    """Everything one model component is built from."""

    row: dict[str, Any]
    revision: str | None
    origin: list[str] = field(default_factory=list)
    inherited_licenses: list[str] = field(default_factory=list)
    sha256s: list[str] = field(default_factory=list)
    audit: AuditFacts | None = None
    open_policies: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    lineage: list[LineageLink] = field(default_factory=list)


@dataclass
class Chunk:
    """A loaded chunk: each entry's facts (in the entries' order) and the identity of every ancestor."""

    models: list[ModelFacts]
    ancestors: dict[int, dict[str, Any]]  # model id -> identity row (with "revision")
    parents: dict[int, list[int]]  # model id -> its parents in the inventory (for the dependency graph)


def identity_rows(model_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The identity of each model at its latest revision, with its purl there (one query)."""
    rows = AIModel.objects.filter(IdIn("pk", model_ids)).annotate(revision=Subquery(_LATEST.values("revision")[:1]))
    found = {row["id"]: row for row in rows.values(*IDENTITY_FIELDS, "revision")}
    for row in found.values():
        row["purl"] = model_purl(row["source"], row["upstream_id"], row["revision"])
    return found


def lineage_above(model_ids: Iterable[int], depth: int | None = None) -> dict[int, list[LineageLink]]:
    """Each model's lineage edges, breadth first, up to ``depth`` levels (one query per level).

    Every ancestor's edges are followed once per model (a diamond or a cycle is not walked twice).
    """
    depth = depth or settings.LINEAGE_MAX_DEPTH
    edges_of: dict[int, list[tuple[int | None, str, str, str]]] = {}
    frontier = set(model_ids)
    for _ in range(depth):
        if not frontier:
            break
        rows = LineageEdge.objects.filter(IdIn("child_id", frontier)).values_list(
            "child_id", "parent_id", "parent_source", "parent_upstream_id", "relation"
        )
        found: set[int] = set()
        for child_id, parent_id, parent_source, parent_upstream_id, relation in rows:
            edges_of.setdefault(child_id, []).append((parent_id, parent_source, parent_upstream_id, relation))
            if parent_id is not None and parent_id not in edges_of:
                found.add(parent_id)
        for child_id in frontier:
            edges_of.setdefault(child_id, [])
        frontier = found - set(edges_of)
    for edges in edges_of.values():
        edges.sort(key=lambda edge: (edge[1], edge[2].lower()))  # the same document on every run
    lineage: dict[int, list[LineageLink]] = {}
    for model_id in model_ids:
        links, level, queue = [], {model_id: 0}, [model_id]
        for node in queue:
            if level[node] == depth:
                continue
            for parent_id, parent_source, parent_upstream_id, relation in edges_of.get(node, []):
                links.append(LineageLink(node, parent_id, parent_source, parent_upstream_id, relation, level[node] + 1))
                if parent_id is not None and parent_id not in level:
                    level[parent_id] = level[node] + 1
                    queue.append(parent_id)
        lineage[model_id] = links
    return lineage


def _audit(reviews: list[Any], revision_id: int | None, now: datetime) -> AuditFacts:
    if not reviews:  # what ``coverage`` says of a model never reviewed, without asking it each kind
        return AuditFacts(status=str(AuditStatus.UNAUDITED), expires_at=None, conditions=[])
    revision = SimpleNamespace(pk=revision_id) if revision_id else None
    summary = coverage(None, revision, now, reviews=reviews)  # type: ignore[arg-type]  # only ids are read
    conditions: list[str] = []
    for kind in summary.kinds:  # the conditions of the approvals a conditional status rests on
        if kind.status == AuditStatus.CONDITIONAL and kind.review is not None:
            conditions.extend(condition for condition in kind.review.conditions if condition not in conditions)
    return AuditFacts(status=str(summary.status), expires_at=summary.expires_at, conditions=conditions)


def load_chunk(entries: list[Entry], now: datetime | None = None) -> Chunk:
    """The facts of ``entries`` (each model at its revision) and of their ancestors."""
    now = now or timezone.now()
    model_ids = sorted({entry.model_id for entry in entries})
    rows = {
        row["id"]: row
        for row in AIModel.objects.filter(IdIn("pk", model_ids))
        .annotate(latest_revision_id=Subquery(_LATEST.values("pk")[:1]))
        .values(*IDENTITY_FIELDS, *FULL_FIELDS, "latest_revision_id")
    }
    revision_ids = {entry.revision_id or rows[entry.model_id]["latest_revision_id"] for entry in entries}
    revision_ids.discard(None)
    revision_names = dict(Revision.objects.filter(IdIn("pk", revision_ids)).values_list("pk", "revision"))
    origin: dict[int, set[str]] = defaultdict(set)
    countries = OriginCountry.objects.filter(IdIn("model_id", model_ids))
    for model_id, country in countries.values_list("model_id", "country"):
        origin[model_id].add(country)
    inherited: dict[int, list[str]] = defaultdict(list)
    through = AIModel.inherited_licenses.through.objects.filter(IdIn("aimodel_id", model_ids)).order_by("license__key")
    for model_id, key in through.values_list("aimodel_id", "license__key"):
        inherited[model_id].append(key)
    files: dict[int, list[str]] = defaultdict(list)
    artifacts = Artifact.objects.filter(IdIn("revision_id", revision_ids)).exclude(sha256="").order_by("path")
    for revision_id, sha256 in artifacts.values_list("revision_id", "sha256"):
        if sha256 not in files[revision_id]:
            files[revision_id].append(sha256)
    reviews: dict[int, list[Any]] = defaultdict(list)  # as rows with attributes: what ``coverage`` reads
    counting = AuditReview.objects.filter(IdIn("model_id", model_ids)).exclude(state__in=NOT_COUNTING)
    for review in counting.order_by("-requested_at", "-id").values(
        "id", "model_id", "revision_id", "kind", "state", "conditions", "decided_at", "expires_at", "requested_at"
    ):
        reviews[review["model_id"]].append(SimpleNamespace(**review))
    violations: dict[int, list[str]] = defaultdict(list)
    open_ones = with_state(Violation.objects.filter(IdIn("model_id", model_ids)), ViolationState.OPEN, now)
    for model_id, policy in open_ones.order_by("policy__name").values_list("model_id", "policy__name"):
        violations[model_id].append(policy)
    environments: dict[int, set[str]] = defaultdict(set)
    active = Deployment.objects.filter(IdIn("revision__model_id", model_ids), active=True)
    for model_id, environment in active.values_list("revision__model_id", "environment").distinct():
        environments[model_id].add(environment)
    lineage = lineage_above(model_ids)
    ancestor_ids = {link.parent_id for links in lineage.values() for link in links if link.parent_id is not None}
    ancestors = identity_rows(ancestor_ids)
    facts = []
    for entry in entries:
        row = rows[entry.model_id]
        revision_id = entry.revision_id or row["latest_revision_id"]
        countries = origin[entry.model_id]
        facts.append(
            ModelFacts(
                row=row,
                revision=revision_names.get(revision_id),
                origin=sorted(countries - {UNKNOWN_COUNTRY})
                + ([UNKNOWN_COUNTRY] if UNKNOWN_COUNTRY in countries else []),
                inherited_licenses=inherited[entry.model_id],
                sha256s=files.get(revision_id, []) if revision_id else [],
                audit=_audit(reviews[entry.model_id], revision_id, now),
                open_policies=violations[entry.model_id],
                environments=sorted(environments[entry.model_id]),
                lineage=lineage[entry.model_id],
            )
        )
    parents = {
        model_id: sorted({link.parent_id for link in links if link.depth == 1 and link.parent_id is not None})
        for model_id, links in lineage.items()
    }
    return Chunk(models=facts, ancestors=ancestors, parents=parents)
