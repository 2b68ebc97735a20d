"""What governance does when the inventory learns something (subscribed in ``GovernanceConfig.ready``)."""

from core.events import subscribe
from governance import services
from inventory.events import RevisionAdded, UpstreamChanged


@subscribe(UpstreamChanged, name="governance.re_review")
def re_review_after_upstream_change(event: UpstreamChanged) -> None:
    """The hub changed a license, revision, base models or pickle-based files: re-review."""
    services.review_upstream_change(model_id=event.model_id, changes=event.changes)


@subscribe(RevisionAdded, name="governance.audit_status")
def audit_status_after_new_revision(event: RevisionAdded) -> None:
    """A new latest revision may not be covered by approvals pinned to the old one."""
    services.refresh_audit_status(model_id=event.model_id)
