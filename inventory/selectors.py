"""Reads that more than one interface needs."""

import hashlib
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from inventory import origin
from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    AuditStatus,
    License,
    LicenseAlias,
    LineageEdge,
    ModelAlias,
    OriginCountry,
    Publisher,
    PublisherNamespace,
    Revision,
)
from inventory.purls import build_purl


def find_model(*, source: str, upstream_id: str) -> AIModel | None:
    """The model under this upstream id, or under an id it had before a rename."""
    return find_models(source=source, upstream_ids=[upstream_id]).get(upstream_id.lower())


def find_models(*, source: str, upstream_ids: Iterable[str]) -> dict[str, AIModel]:
    """The models under these upstream ids (or ids they had before a rename), by lowercased id;
    two queries at most, whatever the number of ids."""
    wanted = {upstream_id.lower() for upstream_id in upstream_ids}
    if not wanted:
        return {}
    found = {
        model.key: model
        for model in AIModel.objects.annotate(key=Lower("upstream_id")).filter(source=source, key__in=wanted)
    }
    if missing := wanted - set(found):
        aliases = ModelAlias.objects.annotate(key=Lower("upstream_id")).filter(source=source, key__in=missing)
        found.update({alias.key: alias.model for alias in aliases.select_related("model")})
    return found


def publisher_of_namespace(*, source: str, namespace: str) -> Publisher | None:
    """The publisher that owns (or owned, for a renamed namespace) this hub namespace."""
    return publishers_of_namespaces(source=source, namespaces=[namespace]).get(namespace.lower())


def publishers_of_namespaces(*, source: str, namespaces: Iterable[str]) -> dict[str, Publisher]:
    """``publisher_of_namespace`` for many namespaces in one query, by lowercased namespace."""
    wanted = {namespace.lower() for namespace in namespaces}
    entries = PublisherNamespace.objects.annotate(key=Lower("namespace")).filter(source=source, key__in=wanted)
    return {entry.key: entry.publisher for entry in entries.select_related("publisher")}


def model_version(model: AIModel) -> str:
    """Changes with every write to the model's own fields (what a correction may change): its ETag."""
    stamp = f"{model.pk}:{model.updated_at.isoformat()}"
    return f'"{hashlib.sha256(stamp.encode()).hexdigest()[:32]}"'


def models_for_listing() -> QuerySet[AIModel]:
    """Models with everything a list shows, in a fixed number of queries whatever the page size."""
    return AIModel.objects.select_related("publisher", "declared_license").prefetch_related(
        "origin_countries", "inherited_licenses", "revisions"
    )


def with_origin(models: QuerySet[AIModel], country: str) -> QuerySet[AIModel]:
    """The models whose effective origin includes ``country`` (an ISO code or "unknown"): one indexed condition."""
    code = UNKNOWN_COUNTRY if country.lower() == UNKNOWN_COUNTRY else country.upper()
    return models.filter(Exists(OriginCountry.objects.filter(model=OuterRef("pk"), country=code)))


def effective_origin(model: AIModel) -> list[str]:
    """The model's effective origin as sorted codes, "unknown" last (uses prefetched rows when present)."""
    countries = {row.country for row in model.origin_countries.all()}
    return sorted(countries - {UNKNOWN_COUNTRY}) + ([UNKNOWN_COUNTRY] if UNKNOWN_COUNTRY in countries else [])


def latest_revision(model: AIModel) -> Revision | None:
    """The newest recorded revision (uses prefetched revisions when present)."""
    return next(iter(model.revisions.all()), None)  # Revision's default order: newest first


def model_purl(model: AIModel, revision: Revision | None = None) -> str:
    """The model's purl, at ``revision`` or else its latest known one (without ``@`` when none)."""
    pinned = revision or latest_revision(model)
    return build_purl(source=model.source, upstream_id=model.upstream_id, revision=pinned.revision if pinned else None)


def license_for_hub(*, license_id: str, license_name: str = "") -> License | None:
    """The catalogue license a hub's ``license`` (and, for ``other``, ``license_name``) value names.

    None when the catalogue knows no such alias: the value is unknown, never guessed.
    """
    return licenses_for_hub([(license_id, license_name)])[(license_id, license_name)]


def licenses_for_hub(values: Iterable[tuple[str, str]]) -> dict[tuple[str, str], License | None]:
    """``license_for_hub`` for many (license, license_name) pairs, in one query."""
    aliases = {pair: (pair[1] if pair[0].lower() == "other" and pair[1] else pair[0]).lower() for pair in values}
    known = LicenseAlias.objects.annotate(key=Lower("alias")).filter(
        key__in={alias for alias in aliases.values() if alias}
    )
    found = {alias.key: alias.license for alias in known.select_related("license")}
    return {pair: found.get(alias) for pair, alias in aliases.items()}


def parent_ids_of(model_ids: Iterable[int]) -> dict[int, list[int]]:
    """The parents in the inventory of each model, by model id (one query)."""
    parents: dict[int, list[int]] = {model_id: [] for model_id in model_ids}
    edges = LineageEdge.objects.filter(child_id__in=parents, parent__isnull=False).order_by("parent_id")
    for child_id, parent_id in edges.values_list("child_id", "parent_id"):
        parents[child_id].append(parent_id)
    return parents


def _node(graph_label: str, country: str, relation: str, depth: int, model_id: int | None) -> dict[str, object]:
    return {"id": model_id, "model": graph_label, "relation": relation, "depth": depth, "country": country}


def lineage_of(model: AIModel) -> dict[str, object]:
    """Ancestors (breadth first, up to the depth bound) and descendants of a model, each with the
    relation that links it, its depth and its publisher's country; plus the derived facts."""
    depth = origin.max_depth()
    graph = origin.load_ancestry({model.id}, depth)
    ancestors, level, queue = [], {model.id: 0}, [model.id]
    for node in queue:
        for ref in graph.parents.get(node, []):
            if ref.parent_id is None or ref.parent_id in level or level[node] == depth:
                continue
            level[ref.parent_id] = level[node] + 1
            queue.append(ref.parent_id)
            ancestors.append(
                _node(
                    graph.label[ref.parent_id],
                    graph.country[ref.parent_id],
                    ref.relation,
                    level[ref.parent_id],
                    ref.parent_id,
                )
            )
    descendants, seen, frontier = [], {model.id}, {model.id}
    for current in range(1, depth + 1):
        edges = (
            LineageEdge.objects.filter(parent_id__in=frontier)
            .exclude(child_id__in=seen)
            .select_related("child__publisher")
            .order_by("child__upstream_id")
        )
        frontier = set()
        for edge in edges:
            if edge.child_id in frontier:
                continue
            frontier.add(edge.child_id)
            country = (edge.child.publisher.country if edge.child.publisher else "") or UNKNOWN_COUNTRY
            descendants.append(_node(str(edge.child), country, edge.relation, current, edge.child_id))
        seen |= frontier
        if not frontier:
            break
    return {
        "ancestors": ancestors,
        "descendants": descendants,
        "effective_origin": effective_origin(model),
        "inherited_licenses": sorted(model.inherited_licenses.values_list("key", flat=True)),
        "license_mismatch": model.license_mismatch,
        "cuts": model.lineage_cuts,
    }


# Statuses that rest on approvals: they read as expired once the first of those approvals runs out.
_LAPSING_STATUSES = (AuditStatus.PENDING, AuditStatus.CONDITIONAL, AuditStatus.APPROVED)


def audit_status_of(model: AIModel, now: datetime | None = None) -> str:
    """The model's audit status as of ``now``: the stored one, or expired when an approval it rests
    on has run out since it was stored (the scheduled expiry then stores it too)."""
    lapsed = model.audit_expires_at is not None and model.audit_expires_at <= (now or timezone.now())
    return AuditStatus.EXPIRED if lapsed and model.audit_status in _LAPSING_STATUSES else model.audit_status


def _lapsed(now: datetime | None) -> Q:
    return Q(audit_status__in=_LAPSING_STATUSES, audit_expires_at__lte=now or timezone.now())


def with_audit_status(models: QuerySet[AIModel], status: str, now: datetime | None = None) -> QuerySet[AIModel]:
    """The models whose ``audit_status_of`` is ``status`` (one indexed condition, and the expiry)."""
    lapsed = _lapsed(now)
    if status == AuditStatus.EXPIRED:
        return models.filter(Q(audit_status=status) | lapsed)
    return models.filter(audit_status=status).exclude(lapsed)


def audit_status_counts(models: QuerySet[AIModel], now: datetime | None = None) -> dict[str, int]:
    """How many of ``models`` have each ``audit_status_of`` (one query)."""
    status = Case(When(_lapsed(now), then=Value(AuditStatus.EXPIRED.value)), default=F("audit_status"))
    rows = models.order_by().annotate(status_now=status).values("status_now").annotate(count=Count("pk"))
    return {row["status_now"]: row["count"] for row in rows}
