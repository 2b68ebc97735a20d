"""Audit reviews of models, and the evidence behind their decisions (see docs/audits.md).

A review is never edited or deleted by hand: every change of state goes through
``governance.services`` (each one logged in the change log), and the admin only reads.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from inventory.models import AIModel, Revision


class ReviewKind(models.TextChoices):
    SECURITY = "security"
    LICENSE = "license"
    FULL = "full"  # security and license together


class ReviewState(models.TextChoices):
    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    EXPIRED = "expired"  # an approval whose validity ran out
    SUPERSEDED = "superseded"  # an approval a later upstream change or a later decision replaced
    WITHDRAWN = "withdrawn"  # the requester took it back before a decision


OPEN_STATES = frozenset({ReviewState.REQUESTED, ReviewState.IN_REVIEW})
APPROVALS = frozenset({ReviewState.APPROVED, ReviewState.APPROVED_WITH_CONDITIONS})
DECISIONS = APPROVALS | {ReviewState.REJECTED}


class AuditReview(models.Model):
    """A review of a model of one kind, pinned to a revision or covering all of them.

    Who asked and who took and decided it are kept as actors (kind, id, name, as the change log
    keeps them) and, for the four-eyes rule, as the accountable person: the person themselves, or
    the person who created the token that acted.
    """

    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="audit_reviews")
    revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_reviews"
    )  # empty: the review covers every revision
    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    state = models.CharField(max_length=32, choices=ReviewState.choices, default=ReviewState.REQUESTED)
    note = models.TextField(blank=True, help_text="what the requester asks for, or what changed upstream")
    # For a re-review: the review it follows and the upstream changes that opened it.
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="re_reviews")
    upstream_changes = models.JSONField(default=dict, blank=True)

    requester_kind = models.CharField(max_length=16)
    requester_id = models.CharField(max_length=64, blank=True)
    requester_name = models.CharField(max_length=150)
    requester_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_kind = models.CharField(max_length=16, blank=True)
    reviewer_id = models.CharField(max_length=64, blank=True)
    reviewer_name = models.CharField(max_length=150, blank=True)
    reviewer_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    findings = models.TextField(blank=True)
    conditions = models.JSONField(default=list, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # when it expired, was superseded or withdrawn

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReviewKind.values), name="review_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=ReviewState.values), name="review_state_valid"),
        ]
        indexes = [
            models.Index(fields=["model", "kind", "requested_at"], name="review_model_kind_idx"),
            models.Index(fields=["state", "expires_at"], name="review_state_expiry_idx"),
        ]

    def __str__(self) -> str:
        pinned = f"@{self.revision.revision[:12]}" if self.revision_id else ""
        return f"{self.kind} review #{self.pk} of {self.model}{pinned} ({self.state})"


class EvidenceKind(models.TextChoices):
    LINK = "link"
    FILE = "file"


class Evidence(models.Model):
    """A link or an uploaded file behind a review's decision; a file keeps its sha256 and size."""

    review = models.ForeignKey(AuditReview, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=8, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=500, blank=True)
    file_name = models.CharField(max_length=255, blank=True)  # as uploaded
    content_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    added_by = models.CharField(max_length=150)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "evidence"
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="link") & ~Q(url="") & Q(file=""))
                | (Q(kind="file") & Q(url="") & ~Q(file="") & Q(sha256__regex=r"^[0-9a-f]{64}$")),
                name="evidence_link_or_file",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.file_name or self.url
