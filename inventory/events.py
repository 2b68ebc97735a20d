"""The events the inventory publishes (see docs/events.md): what it learned, for higher apps to act on.

Each is recorded in the transaction of the change that it reports (``core.events.record``).
Fields are JSON-ready: ids, strings, and ``{"before": ..., "after": ...}`` pairs.
"""

from dataclasses import dataclass, field
from typing import Any

from core.events import Event, event_kind


@event_kind
@dataclass(frozen=True)
class ModelRegistered(Event):
    """A model entered the inventory."""

    kind = "inventory.model_registered"
    model_id: int
    source: str
    upstream_id: str
    publisher_id: int | None
    team: str


@event_kind
@dataclass(frozen=True)
class ModelFactsChanged(Event):
    """A model's own facts changed (a correction, a refresh, a move): each changed field with its
    value before and after (foreign keys as ids)."""

    kind = "inventory.model_facts_changed"
    model_id: int
    changes: dict[str, dict[str, Any]]


@event_kind
@dataclass(frozen=True)
class UpstreamChanged(Event):
    """A refresh found that the hub changed something governance cares about: ``changes`` names
    each of license, revision, base_models, gated, pickle_files that differ, with before / after."""

    kind = "inventory.upstream_changed"
    model_id: int
    changes: dict[str, dict[str, Any]]


@event_kind
@dataclass(frozen=True)
class RevisionAdded(Event):
    """A revision of a model was recorded, with its files (path, size, sha256, blob_id, format, pickle_based)."""

    kind = "inventory.revision_added"
    model_id: int
    revision_id: int
    revision: str
    artifacts: list[dict[str, Any]] = field(default_factory=list)


@event_kind
@dataclass(frozen=True)
class DerivedFactsChanged(Event):
    """A recomputation changed what a model derives from its lineage: its effective origin,
    inherited license ids, license mismatch and lineage cuts, before and after."""

    kind = "inventory.derived_facts_changed"
    model_id: int
    before: dict[str, Any]
    after: dict[str, Any]


@event_kind
@dataclass(frozen=True)
class PublisherCountryChanged(Event):
    """A publisher's country changed (curation, a catalogue load); empty means unknown."""

    kind = "inventory.publisher_country_changed"
    publisher_id: int
    name: str
    before: str
    after: str


@event_kind
@dataclass(frozen=True)
class LicenseTermsChanged(Event):
    """A catalogue license's category or commercial use changed (every model declaring it reads
    the new terms): each changed field with before / after."""

    kind = "inventory.license_terms_changed"
    license_id: int
    changes: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _DeploymentEvent(Event):
    """What every deployment event tells about the deployment."""

    deployment_id: int
    model_id: int
    revision: str
    system: str
    environment: str
    team: str


@event_kind
@dataclass(frozen=True)
class DeploymentRegistered(_DeploymentEvent):
    """Deploy tooling reported where a revision runs: new (``created``) or seen again."""

    kind = "inventory.deployment_registered"
    created: bool


@event_kind
@dataclass(frozen=True)
class DeploymentRetired(_DeploymentEvent):
    """A deployment no longer runs."""

    kind = "inventory.deployment_retired"
