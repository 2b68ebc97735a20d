"""Reads of audit reviews: each review's state as of now, and what a model's reviews cover.

Coverage (docs/audits.md): a review pinned to a revision covers only that revision, an unpinned one
every revision. For each kind, the newest decision that covers the revision and still counts (not
withdrawn, not superseded) gives the kind's status, or pending while a review of it is open when
that is more severe; a ``full`` review counts for the ``security`` and ``license`` kinds too. The
model's status is the most severe over its kinds.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.models import APPROVALS, OPEN_STATES, AuditReview, ReviewKind, ReviewState
from inventory.models import AIModel, AuditStatus, Revision
from inventory.selectors import latest_revision
from inventory.services.revisions import stored_revision

# The review kinds whose reviews count for each kind.
COUNTS_FOR = {
    ReviewKind.SECURITY: (ReviewKind.SECURITY, ReviewKind.FULL),
    ReviewKind.LICENSE: (ReviewKind.LICENSE, ReviewKind.FULL),
    ReviewKind.FULL: (ReviewKind.FULL,),
}
# Most severe first: the model's status is the first of these that one of its kinds has.
SEVERITY = (
    AuditStatus.REJECTED,
    AuditStatus.EXPIRED,
    AuditStatus.PENDING,
    AuditStatus.CONDITIONAL,
    AuditStatus.APPROVED,
)
_STATUS_OF_STATE = {
    ReviewState.REQUESTED: AuditStatus.PENDING,
    ReviewState.IN_REVIEW: AuditStatus.PENDING,
    ReviewState.APPROVED: AuditStatus.APPROVED,
    ReviewState.APPROVED_WITH_CONDITIONS: AuditStatus.CONDITIONAL,
    ReviewState.REJECTED: AuditStatus.REJECTED,
    ReviewState.EXPIRED: AuditStatus.EXPIRED,
}
NOT_COUNTING = (ReviewState.WITHDRAWN, ReviewState.SUPERSEDED)


def state_of(review: AuditReview, now: datetime | None = None) -> str:
    """The review's state as of ``now``: an approval past its ``expires_at`` is expired, even before
    the scheduled expiry stores it."""
    lapsed = review.expires_at is not None and review.expires_at <= (now or timezone.now())
    return ReviewState.EXPIRED if review.state in APPROVALS and lapsed else review.state


def with_state(reviews: QuerySet[AuditReview], state: str, now: datetime | None = None) -> QuerySet[AuditReview]:
    """The reviews whose ``state_of`` is ``state``."""
    lapsed = Q(state__in=APPROVALS, expires_at__lte=now or timezone.now())
    if state == ReviewState.EXPIRED:
        return reviews.filter(Q(state=state) | lapsed)
    return reviews.filter(state=state).exclude(lapsed)


def reviews_for_listing() -> QuerySet[AuditReview]:
    """Reviews with what their representation reads, newest first."""
    return AuditReview.objects.select_related("model", "revision").prefetch_related("evidence")


@dataclass(frozen=True)
class KindCoverage:
    """One kind's status for a revision, and the review that gives it (None: never reviewed)."""

    kind: str
    status: str
    review: AuditReview | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Coverage:
    """What a model's reviews say about one of its revisions (or about the model, without one)."""

    model: AIModel
    revision: Revision | None
    status: str
    kinds: list[KindCoverage]

    @property
    def expires_at(self) -> datetime | None:
        """When the first approval this status rests on runs out."""
        return min((kind.expires_at for kind in self.kinds if kind.expires_at), default=None)


def counting_reviews(model: AIModel, revision: Revision | None) -> list[AuditReview]:
    """The model's reviews that cover ``revision`` and still count, newest first (one query)."""
    covering = Q(revision__isnull=True) | Q(revision=revision) if revision else Q(revision__isnull=True)
    return list(
        AuditReview.objects.filter(covering, model=model)
        .exclude(state__in=NOT_COUNTING)
        .select_related("revision")
        .order_by("-requested_at", "-id")
    )


def coverage(
    model: AIModel,
    revision: Revision | None,
    now: datetime | None = None,
    reviews: list[AuditReview] | None = None,
) -> Coverage:
    """Each kind's status for ``revision`` and the model's summary: the most severe of them, or
    unaudited when no kind has a review.

    ``reviews``, when given, are the model's reviews newest first (prefetched for many models).
    A kind's status is that of its newest decision, or pending while a review of it is open, when
    that is more severe: an open request hides an approval, never a rejection or an expiry.
    """
    now = now or timezone.now()
    if reviews is None:
        reviews = counting_reviews(model, revision)
    else:  # the model's reviews loaded already (newest first): those that cover the revision and count
        covered = {None, revision.pk if revision else None}
        reviews = [review for review in reviews if review.revision_id in covered and review.state not in NOT_COUNTING]
    kinds = []
    for kind in ReviewKind:
        counting = [review for review in reviews if review.kind in COUNTS_FOR[kind]]
        decision = next((review for review in counting if review.state not in OPEN_STATES), None)
        waiting = next((review for review in counting if review.state in OPEN_STATES), None)
        state = state_of(decision, now) if decision else None
        candidates = [(_STATUS_OF_STATE[state], decision)] if state else []
        if waiting:
            candidates.append((AuditStatus.PENDING, waiting))
        status, review = min(
            candidates, key=lambda pair: SEVERITY.index(pair[0]), default=(AuditStatus.UNAUDITED, None)
        )
        expires_at = decision.expires_at if decision and state in APPROVALS else None
        kinds.append(KindCoverage(kind=kind, status=status, review=review, expires_at=expires_at))
    present = {kind.status for kind in kinds}
    status = next((status for status in SEVERITY if status in present), AuditStatus.UNAUDITED)
    return Coverage(model=model, revision=revision, status=status, kinds=kinds)


def coverage_of_latest(model: AIModel, now: datetime | None = None) -> Coverage:
    """``coverage`` of the model's latest revision: what its stored ``audit_status`` says."""
    return coverage(model, latest_revision(model), now)


def recorded_revision(model: AIModel, revision: str) -> Revision:
    """The model's recorded ``revision`` (written as its source writes it); ValidationError naming
    ``revision`` when there is none."""
    wanted = stored_revision(model, revision)
    found = Revision.objects.filter(model=model, revision=wanted).first()
    if found is None:
        raise ValidationError({"revision": f"{model} has no recorded revision {wanted!r}"})
    return found


def open_review(model: AIModel, kind: str, revision: Revision | None) -> AuditReview | None:
    """The review of exactly this kind and pin that is still waiting for a decision, if any."""
    return AuditReview.objects.filter(model=model, kind=kind, revision=revision, state__in=OPEN_STATES).first()
