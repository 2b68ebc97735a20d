"""The events governance publishes (see docs/events.md), for the policies and notifications above it."""

from dataclasses import dataclass

from core.events import Event, event_kind


@event_kind
@dataclass(frozen=True)
class ReviewChanged(Event):
    """An audit review was requested (``before`` empty) or changed state (taken, decided, withdrawn,
    expired, superseded)."""

    kind = "governance.review_changed"
    review_id: int
    model_id: int
    revision_id: int | None
    kind_of_review: str
    before: str
    after: str


@event_kind
@dataclass(frozen=True)
class PolicyChanged(Event):
    """A policy was created or edited (``version`` is its new version): its violations are due."""

    kind = "governance.policy_changed"
    policy_id: int
    version: int
