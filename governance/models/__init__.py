"""Governance's records: audit reviews (``audits``) and policies, violations and the gate (``policies``)."""

from governance.models.audits import (
    APPROVALS,
    DECISIONS,
    OPEN_STATES,
    AuditReview,
    Evidence,
    EvidenceKind,
    ReviewKind,
    ReviewState,
)
from governance.models.policies import (
    GateDecision,
    Override,
    Policy,
    PolicyAction,
    PolicyMatch,
    PolicyVersion,
    Violation,
    ViolationState,
)

__all__ = [
    "APPROVALS",
    "DECISIONS",
    "OPEN_STATES",
    "AuditReview",
    "Evidence",
    "EvidenceKind",
    "GateDecision",
    "Override",
    "Policy",
    "PolicyAction",
    "PolicyMatch",
    "PolicyVersion",
    "ReviewKind",
    "ReviewState",
    "Violation",
    "ViolationState",
]
