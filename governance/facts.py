"""What policies read about a model at one of its revisions: a flat, JSON-ready dict with one entry
per condition subject (``audit_status:<kind>`` and ``days_since_approval:<kind>`` per review kind).

``models_with_facts`` loads any number of models with everything their facts need in a fixed number
of queries, so the gate's query count does not grow with lineage depth or the number of policies.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Exists, Expression, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from governance.models import AuditReview
from governance.selectors import NOT_COUNTING, coverage
from inventory.models import UNKNOWN_COUNTRY, AIModel, Artifact, AuditStatus, ModelAlias, Revision
from inventory.selectors import effective_origin

APPROVED_STATUSES = (AuditStatus.APPROVED, AuditStatus.CONDITIONAL)


def models_with_facts(model_ids: Iterable[int]) -> QuerySet[AIModel]:
    """The models with their publisher, license, origin, revisions (newest first, each knowing
    whether it has pickle-based files) and counting reviews loaded: four queries whatever their number."""
    return _with_facts(AIModel.objects.filter(pk__in=list(model_ids))).order_by("pk")


def model_with_facts(
    *, source: str, upstream_id: str, annotations: Mapping[str, Expression | Subquery] | None = None
) -> AIModel | None:
    """The model under this upstream id (or an id it had before a rename), loaded as
    ``models_with_facts`` loads it (plus ``annotations``), without reading its row twice."""
    extra = dict(annotations or {})
    by_id = AIModel.objects.annotate(key=Lower("upstream_id")).filter(source=source, key=upstream_id.lower())
    found = _with_facts(by_id).annotate(**extra).first()
    if found is None:
        renamed = ModelAlias.objects.annotate(key=Lower("upstream_id")).filter(source=source, key=upstream_id.lower())
        model_id = renamed.values_list("model_id", flat=True).first()
        found = models_with_facts([model_id]).annotate(**extra).first() if model_id else None
    return found


_PICKLED = Exists(Artifact.objects.filter(revision=OuterRef("pk"), pickle_based=True))


def _with_facts(models: QuerySet[AIModel]) -> QuerySet[AIModel]:
    return models.select_related("publisher", "declared_license").prefetch_related(
        "origin_countries",
        # Whether a revision has pickle-based files is all the facts need of its files (the gate reads
        # the files themselves only when a pipeline names some).
        Prefetch(
            "revisions", queryset=Revision.objects.order_by("-created_at", "-id").annotate(has_pickle_files=_PICKLED)
        ),
        Prefetch(
            "audit_reviews",
            queryset=AuditReview.objects.exclude(state__in=NOT_COUNTING).order_by("-requested_at", "-id"),
        ),
    )


def facts_of(model: AIModel, revision: Revision | None, now: datetime | None = None) -> dict[str, Any]:
    """The facts of ``model`` at ``revision`` (its own facts alone when it has none), from a model
    loaded by ``models_with_facts``."""
    now = now or timezone.now()
    origin = effective_origin(model)
    license_ = model.declared_license
    audits = coverage(model, revision, now, reviews=list(model.audit_reviews.all()))
    facts: dict[str, Any] = {
        "publisher_country": (model.publisher.country if model.publisher else "") or UNKNOWN_COUNTRY,
        "effective_origin": origin,
        "license": license_.key if license_ else None,
        "license_category": license_.category if license_ else None,
        "commercial_use": license_.commercial_use if license_ else None,
        "license_unknown": license_ is None,
        "license_mismatch": model.license_mismatch,
        "audit_status": str(audits.status),  # plain strings: facts are shown in messages and stored as JSON
        "days_since_approval": None,
        "pickle_artifacts": bool(revision and revision.has_pickle_files),
        "scan_issues": len(revision.scan_issues) if revision else 0,
        "scan_not_done": revision is None or revision.scan_done is not True,
        "origin_unknown": UNKNOWN_COUNTRY in origin,
        "metadata_age_days": _days(now, model.refreshed_at),
        "gated": model.gated,
        "refresh_state": model.refresh_state,
        "source": model.source,
        "team": model.team,
    }
    approval_days = []
    for kind in audits.kinds:
        facts[f"audit_status:{kind.kind}"] = str(kind.status)
        days = _days(now, kind.review.decided_at) if kind.status in APPROVED_STATUSES else None
        facts[f"days_since_approval:{kind.kind}"] = days
        if days is not None:
            approval_days.append(days)
    # Without a kind: the age of the oldest approval the summary rests on.
    facts["days_since_approval"] = max(approval_days) if audits.status in APPROVED_STATUSES else None
    return facts


def revision_of(model: AIModel, wanted: str | None) -> Revision | None:
    """The model's recorded revision ``wanted`` (as stored), or its latest when none is wanted, from
    the prefetched revisions; None when it has none (or not that one)."""
    revisions = list(model.revisions.all())
    if not wanted:
        return revisions[0] if revisions else None
    return next((revision for revision in revisions if revision.revision == wanted), None)


def _days(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else round((now - since).total_seconds() / 86400, 3)
