"""Audit reviews: request, take, decide, withdraw, expire, and re-review after an upstream change.

Every transition locks the model's row and then the review's, so transitions of one model take
turns: of two auditors deciding the same review at once, the second finds it decided (``Conflict``),
and the model's stored audit status is computed from what the last of them committed. Each
transition is logged in the change log, published as ``governance.review_changed``, and ends by
storing the model's audit status (``refresh_audit_status``).
"""

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import changelog, events
from core.access import Capability, Principal
from core.changelog import Actor
from core.conflicts import Conflict
from governance.events import ReviewChanged
from governance.models import APPROVALS, DECISIONS, OPEN_STATES, AuditReview, Evidence, ReviewKind, ReviewState
from governance.selectors import coverage_of_latest, open_review, recorded_revision, state_of
from inventory.models import AIModel
from inventory.selectors import latest_revision
from inventory.services.ai_models import set_audit_status

GOVERNANCE = Actor.system("governance")


# --- Requests -------------------------------------------------------------------------------------


def request_review(
    *, principal: Principal, model: AIModel, kind: str, revision: str = "", note: str = ""
) -> AuditReview:
    """Ask for a review of ``model`` (pinned to a recorded ``revision``, or of every revision).

    Anyone who may read may ask. While a review of the same kind and pin waits for its decision,
    another is refused (409 naming it).
    """
    if kind not in ReviewKind.values:
        raise ValidationError({"kind": f"one of {', '.join(ReviewKind.values)}"})
    with transaction.atomic():
        locked = _lock_model(model.pk)
        pinned = recorded_revision(locked, revision) if revision else None
        waiting = open_review(locked, kind, pinned)
        if waiting is not None:
            raise Conflict(f"{waiting} waits for a decision already; add to it instead")
        review = AuditReview(
            model=locked,
            revision=pinned,
            kind=kind,
            note=note,
            **_requester_fields(principal),
        )
        _create(actor=principal.actor, review=review)
        return review


def _requester_fields(principal: Principal) -> dict[str, object]:
    actor = principal.actor
    return {
        "requester_kind": actor.kind,
        "requester_id": actor.id,
        "requester_name": actor.name,
        "requester_person_id": principal.accountable_user_id,
    }


# --- Auditors' transitions ------------------------------------------------------------------------


def take_review(*, principal: Principal, review: AuditReview) -> AuditReview:
    """An auditor starts on a requested review (``in_review``), unless they asked for it."""
    _require_auditor(principal)
    with transaction.atomic():
        current = _lock_review(review)
        _require_state(current, {ReviewState.REQUESTED}, "taken")
        _require_other_person(principal, current)
        actor = principal.actor
        return _transition(
            actor=actor,
            review=current,
            action="take",
            state=ReviewState.IN_REVIEW,
            reviewer_kind=actor.kind,
            reviewer_id=actor.id,
            reviewer_name=actor.name,
            reviewer_person_id=principal.accountable_user_id,
            taken_at=timezone.now(),
        )


def decide_review(
    *,
    principal: Principal,
    review: AuditReview,
    decision: str,
    findings: str = "",
    conditions: Sequence[str] = (),
    expires_at: datetime | None = None,
) -> AuditReview:
    """An auditor decides a review in progress: approved (until ``expires_at``, by default the kind's
    validity), approved with conditions, or rejected (saying why). The decision replaces earlier
    ones of the same kind and pin (``superseded``)."""
    _require_auditor(principal)
    now = timezone.now()
    expires_at = _checked_decision(decision, findings, list(conditions), expires_at, now)
    with transaction.atomic():
        current = _lock_review(review)
        _require_state(current, {ReviewState.IN_REVIEW}, "decided")
        _require_other_person(principal, current)
        if expires_at is None and decision in APPROVALS:
            expires_at = now + timedelta(days=settings.AUDIT_VALIDITY_DAYS[current.kind])
        earlier = AuditReview.objects.filter(
            model_id=current.model_id, kind=current.kind, revision_id=current.revision_id, state__in=DECISIONS
        ).exclude(pk=current.pk)
        for replaced in earlier.select_for_update():
            why = f"replaced by the decision of review #{current.pk}"
            _close(actor=principal.actor, review=replaced, state=ReviewState.SUPERSEDED, now=now, why=why)
        actor = principal.actor
        return _transition(
            actor=actor,
            review=current,
            action="decide",
            state=decision,
            findings=findings,
            conditions=list(conditions),
            decided_at=now,
            expires_at=expires_at,
            # Whoever decides is the reviewer of record (a colleague may finish a review someone took).
            reviewer_kind=actor.kind,
            reviewer_id=actor.id,
            reviewer_name=actor.name,
            reviewer_person_id=principal.accountable_user_id,
        )


def _checked_decision(
    decision: str, findings: str, conditions: list[str], expires_at: datetime | None, now: datetime
) -> datetime | None:
    """Refuse a decision that does not hang together (errors name the field); returns ``expires_at``."""
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        errors["decision"] = f"one of {', '.join(sorted(DECISIONS))}"
    elif decision == ReviewState.APPROVED_WITH_CONDITIONS and not conditions:
        errors["conditions"] = "an approval with conditions lists at least one condition"
    elif decision != ReviewState.APPROVED_WITH_CONDITIONS and conditions:
        errors["conditions"] = "only an approval with conditions has conditions"
    if decision == ReviewState.REJECTED and not findings.strip():
        errors["findings"] = "a rejection says why"
    if expires_at is not None and decision == ReviewState.REJECTED:
        errors["expires_at"] = "a rejection does not expire"
    elif expires_at is not None and expires_at <= now:
        errors["expires_at"] = "must be in the future"
    if errors:
        raise ValidationError(errors)
    return expires_at


def withdraw_review(*, principal: Principal, review: AuditReview) -> AuditReview:
    """The requester (or an admin) takes back a review that has no decision yet."""
    with transaction.atomic():
        current = _lock_review(review)
        if not may_withdraw(principal, current):
            raise PermissionDenied("only who asked for a review (or an admin) may withdraw it")
        _require_state(current, OPEN_STATES, "withdrawn")
        return _transition(
            actor=principal.actor,
            review=current,
            action="withdraw",
            state=ReviewState.WITHDRAWN,
            closed_at=timezone.now(),
        )


# --- Evidence -------------------------------------------------------------------------------------


def add_evidence_link(*, principal: Principal, review: AuditReview, url: str, title: str = "") -> Evidence:
    """Attach a link to a review that has no decision yet (by its requester or an auditor)."""
    return _add_evidence(principal, review, Evidence(kind="link", url=url, title=title))


def add_evidence_file(*, principal: Principal, review: AuditReview, upload: UploadedFile, title: str = "") -> Evidence:
    """Attach an uploaded file, stored through Django's storage with its sha256 and size (at most
    ``AUDIT_EVIDENCE_MAX_BYTES``)."""
    limit = settings.AUDIT_EVIDENCE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationError({"file": f"larger than the {limit} bytes a piece of evidence may have"})
    sha256 = hashlib.sha256()
    for chunk in upload.chunks():
        sha256.update(chunk)
    upload.seek(0)
    name = (upload.name or "evidence").rsplit("/", 1)[-1][:255]
    evidence = Evidence(
        kind="file",
        file_name=name,
        content_type=(upload.content_type or "application/octet-stream")[:100],
        size=upload.size,
        sha256=sha256.hexdigest(),
        title=title,
    )
    return _add_evidence(principal, review, evidence, upload)


def _add_evidence(
    principal: Principal, review: AuditReview, evidence: Evidence, upload: UploadedFile | None = None
) -> Evidence:
    with transaction.atomic():
        current = _lock_review(review)
        if not may_add_evidence(principal, current):
            raise PermissionDenied("only who asked for the review or an auditor may add evidence")
        _require_state(current, OPEN_STATES, "given evidence")
        evidence.review = current
        evidence.added_by = principal.actor.name
        if upload is not None:  # stored only once it is allowed; removed again if the row is not written
            evidence.file.save(evidence.file_name, upload, save=False)
        try:
            evidence.full_clean()
            evidence.save()
        except Exception:
            if upload is not None:
                evidence.file.delete(save=False)
            raise
        snapshot = changelog.snapshot(evidence)
        changelog.record(actor=principal.actor, action="create", instance=evidence, after=snapshot)
        return evidence


# --- Lapse and re-review --------------------------------------------------------------------------

# Which review kinds an upstream change concerns: their approvals are superseded by it.
SUPERSEDED_BY = {
    "license": {ReviewKind.LICENSE, ReviewKind.FULL},
    "gated": {ReviewKind.LICENSE, ReviewKind.FULL},
    "pickle_files": {ReviewKind.SECURITY, ReviewKind.FULL},
    "base_models": {ReviewKind.SECURITY, ReviewKind.LICENSE, ReviewKind.FULL},
    # A new revision supersedes nothing: an approval pinned to the old one does not cover it anyway,
    # and an unpinned one covers every revision. It still asks for a re-review.
    "revision": set(),
}


def expire_reviews(*, now: datetime | None = None) -> int:
    """Store ``expired`` on every approval past its ``expires_at`` (the scheduled task); returns how many."""
    now = now or timezone.now()
    lapsed = AuditReview.objects.filter(state__in=APPROVALS, expires_at__lte=now)
    expired = 0
    for model_id in lapsed.values_list("model_id", flat=True).distinct().order_by("model_id"):
        with transaction.atomic():
            _lock_model(model_id)
            for review in lapsed.filter(model_id=model_id).select_for_update():
                _close(actor=GOVERNANCE, review=review, state=ReviewState.EXPIRED, now=now)
                expired += 1
            refresh_audit_status(model_id=model_id, now=now)
    return expired


def review_upstream_change(*, model_id: int, changes: dict[str, dict[str, object]]) -> list[AuditReview]:
    """After the hub changed what governance acts on: for each kind the model was reviewed in,
    supersede the kind's approvals when the change is one the kind covers, and open a re-review that
    says what changed (or tell the review already open of that kind). Returns the re-reviews opened."""
    opened = []
    now = timezone.now()
    note = "re-review: upstream changed " + "; ".join(
        f"{name} from {change.get('before')!r} to {change.get('after')!r}" for name, change in sorted(changes.items())
    )
    with transaction.atomic():
        model = _lock_model(model_id)
        latest = latest_revision(model)
        for kind in ReviewKind:
            reviews = (
                AuditReview.objects.select_for_update().filter(model=model, kind=kind).order_by("-requested_at", "-id")
            )
            if any(kind in SUPERSEDED_BY.get(name, set()) for name in changes):
                for approval in reviews.filter(state__in=APPROVALS):
                    _close(
                        actor=GOVERNANCE,
                        review=approval,
                        state=ReviewState.SUPERSEDED,
                        now=now,
                        why=f"superseded by an upstream change: {', '.join(sorted(changes))}",
                    )
            # An open review of the latest revision (or of every one) is the re-review already.
            covering_latest = Q(revision__isnull=True) | Q(revision=latest)
            waiting = reviews.filter(covering_latest, state__in=OPEN_STATES).first()
            if waiting is not None:  # it gets to know what changed too
                _transition(
                    actor=GOVERNANCE,
                    review=waiting,
                    action="note",
                    state=waiting.state,
                    upstream_changes=_merged_changes(waiting.upstream_changes, changes),
                    note=f"{waiting.note}\n{note}".strip(),
                    refresh=False,
                )
                continue
            last = reviews.exclude(state=ReviewState.WITHDRAWN).first()
            if last is None:
                continue  # never reviewed in this kind: nothing to re-review
            review = AuditReview(
                model=model,
                revision=latest if last.revision_id else None,  # pinned as the last one was
                kind=kind,
                note=note,
                follows=last,
                upstream_changes=changes,
                requester_kind=GOVERNANCE.kind,
                requester_id=GOVERNANCE.id,
                requester_name=GOVERNANCE.name,
            )
            _create(actor=GOVERNANCE, review=review, refresh=False)
            opened.append(review)
        refresh_audit_status(model_id=model.pk)
    return opened


def refresh_audit_status(*, model_id: int, now: datetime | None = None) -> None:
    """Store the model's audit summary for its latest revision, under the model's lock (which the
    transitions above hold already)."""
    with transaction.atomic():
        model = _lock_model(model_id)
        summary = coverage_of_latest(model, now)
        set_audit_status(actor=GOVERNANCE, model=model, status=summary.status, expires_at=summary.expires_at)


# --- Shared steps ---------------------------------------------------------------------------------


def _lock_model(model_id: int) -> AIModel:
    """Transitions of one model's reviews take turns on its row (locked before any review row)."""
    return AIModel.objects.select_for_update().get(pk=model_id)


def _lock_review(review: AuditReview) -> AuditReview:
    _lock_model(review.model_id)
    return AuditReview.objects.select_for_update().get(pk=review.pk)


def _require_auditor(principal: Principal) -> None:
    if not principal.can(Capability.AUDIT):
        raise PermissionDenied("only auditors take and decide reviews")


def _require_state(review: AuditReview, allowed: set[str] | frozenset[str], doing: str) -> None:
    state = state_of(review)
    if state not in allowed:
        raise Conflict(f"review #{review.pk} is {state}: it cannot be {doing} now")


def is_requester(principal: Principal, review: AuditReview) -> bool:
    """The same person or token, or the person accountable for both."""
    actor = principal.actor
    if (actor.kind, actor.id, actor.name) == (review.requester_kind, review.requester_id, review.requester_name):
        return True
    return principal.accountable_user_id is not None and principal.accountable_user_id == review.requester_person_id


FOUR_EYES_REFUSAL = "four eyes: you asked for this review (yourself or through your token); another auditor must do it"


def four_eyes_refusal(principal: Principal, review: AuditReview) -> str | None:
    """Why the four-eyes rule keeps ``principal`` from taking or deciding ``review`` (None: it does not),
    so that a page can say so before the click; ``take_review`` and ``decide_review`` refuse with it."""
    if settings.AUDIT_FOUR_EYES and is_requester(principal, review):
        return FOUR_EYES_REFUSAL
    return None


def may_withdraw(principal: Principal, review: AuditReview) -> bool:
    """Who asked for a review (or an admin) may withdraw it (while it has no decision)."""
    return is_requester(principal, review) or principal.can(Capability.ADMINISTER)


def may_add_evidence(principal: Principal, review: AuditReview) -> bool:
    """Who asked for a review or an auditor may add evidence (while it has no decision)."""
    return is_requester(principal, review) or principal.can(Capability.AUDIT)


def _require_other_person(principal: Principal, review: AuditReview) -> None:
    """Four eyes: who asked for a review may not take or decide it (``AUDIT_FOUR_EYES`` turns it off)."""
    refusal = four_eyes_refusal(principal, review)
    if refusal:
        raise PermissionDenied(refusal)


def _create(*, actor: Actor, review: AuditReview, refresh: bool = True) -> None:
    review.full_clean()
    review.save()
    changelog.record(actor=actor, action="create", instance=review, after=changelog.snapshot(review))
    _publish(actor, review, before="")
    if refresh:
        refresh_audit_status(model_id=review.model_id)


def _transition(
    *,
    actor: Actor,
    review: AuditReview,
    action: str,
    state: str,
    refresh: bool = True,
    message: str = "",
    **fields: object,
) -> AuditReview:
    """Move a locked review to ``state`` with ``fields``: validated, logged, published."""
    before = changelog.snapshot(review)
    previous_state = review.state
    review.state = state
    for name, value in fields.items():
        setattr(review, name, value)
    review.full_clean()
    review.save()
    changelog.record(
        actor=actor, action=action, instance=review, before=before, after=changelog.snapshot(review), message=message
    )
    if state != previous_state:
        _publish(actor, review, before=previous_state)
    if refresh:
        refresh_audit_status(model_id=review.model_id)
    return review


def _merged_changes(
    known: dict[str, dict[str, object]], new: dict[str, dict[str, object]]
) -> dict[str, dict[str, object]]:
    """A review's upstream changes with ``new`` ones added: a fact changed again keeps its first
    ``before`` (what the last decision saw) and takes the latest ``after``."""
    merged = {**known, **new}
    for name in known.keys() & new.keys():
        merged[name] = {"before": known[name].get("before"), "after": new[name].get("after")}
    return merged


def _close(*, actor: Actor, review: AuditReview, state: str, now: datetime, why: str = "") -> AuditReview:
    """End ``review`` for good (expired, or superseded by a later decision or an upstream change);
    the caller stores the model's status once it has closed all it closes. An approval that has run
    out already, before the schedule stored it, is closed as expired: it lapsed before it was replaced."""
    if state == ReviewState.SUPERSEDED and state_of(review, now) == ReviewState.EXPIRED:
        state, why = ReviewState.EXPIRED, f"it had expired at {review.expires_at.isoformat()}"
    action = {ReviewState.EXPIRED: "expire", ReviewState.SUPERSEDED: "supersede"}[state]
    return _transition(
        actor=actor, review=review, action=action, state=state, closed_at=now, refresh=False, message=why
    )


def _publish(actor: Actor, review: AuditReview, *, before: str) -> None:
    events.record(
        actor=actor,
        events=[
            ReviewChanged(
                review_id=review.pk,
                model_id=review.model_id,
                revision_id=review.revision_id,
                kind_of_review=review.kind,
                before=before,
                after=review.state,
            )
        ],
    )
