"""What governance does when the inventory learns something (subscribed in ``GovernanceConfig.ready``)."""

from core.events import subscribe
from governance import services, violations
from governance.events import PolicyChanged, ReviewChanged
from inventory.events import (
    DerivedFactsChanged,
    LicenseTermsChanged,
    ModelFactsChanged,
    ModelRegistered,
    PublisherCountryChanged,
    RevisionAdded,
    UpstreamChanged,
)
from inventory.models import AIModel

VIOLATIONS = "governance.violations"


@subscribe(UpstreamChanged, name="governance.re_review")
def re_review_after_upstream_change(event: UpstreamChanged) -> None:
    """The hub changed a license, revision, base models or pickle-based files: re-review."""
    services.review_upstream_change(model_id=event.model_id, changes=event.changes)


@subscribe(RevisionAdded, name="governance.audit_status")
def audit_status_after_new_revision(event: RevisionAdded) -> None:
    """A new latest revision may not be covered by approvals pinned to the old one."""
    services.refresh_audit_status(model_id=event.model_id)


# --- Violations: each event re-evaluates only the models it concerns ------------------------------


@subscribe(ModelRegistered, name=VIOLATIONS)
@subscribe(ModelFactsChanged, name=VIOLATIONS)
@subscribe(RevisionAdded, name=VIOLATIONS)
@subscribe(DerivedFactsChanged, name=VIOLATIONS)
@subscribe(ReviewChanged, name=VIOLATIONS)
def violations_of_one_model(
    event: ModelRegistered | ModelFactsChanged | RevisionAdded | DerivedFactsChanged | ReviewChanged,
) -> None:
    """The model's own facts, files, lineage-derived facts or audits changed."""
    violations.evaluate(model_ids=[event.model_id])


@subscribe(PublisherCountryChanged, name=VIOLATIONS)
def violations_of_the_publishers_models(event: PublisherCountryChanged) -> None:
    """Their publisher_country changed (descendants' origin arrives as derived facts changed)."""
    violations.evaluate(model_ids=AIModel.objects.filter(publisher_id=event.publisher_id).values_list("pk", flat=True))


@subscribe(LicenseTermsChanged, name=VIOLATIONS)
def violations_of_the_licenses_models(event: LicenseTermsChanged) -> None:
    """The models declaring the license read its new category and commercial use."""
    declaring = AIModel.objects.filter(declared_license_id=event.license_id).values_list("pk", flat=True)
    violations.evaluate(model_ids=declaring)


@subscribe(PolicyChanged, name=VIOLATIONS)
def violations_of_the_policy(event: PolicyChanged) -> None:
    """A new or edited policy: every model, against that policy alone."""
    violations.evaluate(model_ids=AIModel.objects.values_list("pk", flat=True), policy_ids=[event.policy_id])
