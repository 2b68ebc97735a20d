"""Rows for background work: the outbox that hands tasks to the broker, and user-visible jobs."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class OutboxState(models.TextChoices):
    """Where an outbox message is on its way from the database to a worker."""

    PENDING = "pending"  # waiting for the relay
    SENT = "sent"  # handed to the broker
    STARTED = "started"  # claimed by a worker
    DONE = "done"
    FAILED = "failed"


class JobState(models.TextChoices):
    """The life of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OutboxMessage(models.Model):
    """A task to run, written in the same transaction as the change that causes it.

    The relay hands it to the broker; the worker claims it before running, so a message handed over
    twice (the broker lost it, or the relay crashed after publishing) still runs once. Its id is the
    Celery task id of every copy sent.
    """

    State = OutboxState

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING)
    # When the relay may (re)publish it: now for a pending message, later for one already handed
    # over or claimed, in case the broker lost it or its worker died.
    available_at = models.DateTimeField()
    publish_count = models.PositiveIntegerField(default=0)
    run_count = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=OutboxState.values),
                name="outbox_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["available_at"],
                condition=Q(state__in=[OutboxState.PENDING, OutboxState.SENT, OutboxState.STARTED]),
                name="outbox_due_idx",
            ),
            models.Index(fields=["state", "finished_at"], name="outbox_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.id} ({self.state})"


class Job(models.Model):
    """Background work a person may wait for: its state, live progress, log and result."""

    State = JobState
    FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED)

    kind = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    log = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester = models.CharField(max_length=150, blank=True)  # the actor who asked: a person, a token, the system
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=JobState.values),
                name="job_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(progress_total__isnull=True) | Q(progress_done__lte=models.F("progress_total")),
                name="job_progress_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"


class ChangeLogEntry(models.Model):
    """One write, as it happened: who, in which request, what, and the object before and after.

    Append-only: nothing in the product updates or deletes a row, and on PostgreSQL a trigger
    refuses UPDATE and DELETE. It holds no foreign keys, so deleting what it describes leaves it
    untouched.
    """

    actor_kind = models.CharField(max_length=16)  # user, token or system
    actor_id = models.CharField(max_length=64, blank=True)
    actor_name = models.CharField(max_length=150)
    request_id = models.CharField(max_length=128, blank=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=100)  # "app_label.model"
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "change log entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "created_at"], name="changelog_object_idx"),
            models.Index(fields=["actor_kind", "actor_id", "created_at"], name="changelog_actor_idx"),
            models.Index(fields=["request_id"], name="changelog_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_name}"


class Role(models.TextChoices):
    """What a person or a token may do (each role includes the ones the docs say it extends)."""

    VIEWER = "viewer"  # read
    DEPLOYER = "deployer"  # viewer + register models and deployments + ask the gate
    EDITOR = "editor"  # deployer + edit the inventory (their team's models, when they have a team)
    AUDITOR = "auditor"  # viewer + audit decisions and waivers
    ADMIN = "admin"  # everything


class ApiToken(models.Model):
    """A named token for a machine. Only the SHA-256 of the secret is kept: one indexed lookup per request."""

    name = models.CharField(max_length=100, unique=True)
    secret_sha256 = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    team = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The person accountable for what the token does (four eyes: they may not audit what it asked for).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="api_tokens"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="api_token_role_valid"),
            models.CheckConstraint(condition=Q(secret_sha256__regex=r"^[0-9a-f]{64}$"), name="api_token_hash_hex"),
        ]

    def __str__(self) -> str:
        return self.name


class UserAccess(models.Model):
    """A person's role and, for editors limited to their team's models, their team."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    team = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "user access"
        verbose_name_plural = "user access"
        constraints = [models.CheckConstraint(condition=Q(role__in=Role.values), name="user_access_role_valid")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class DomainEvent(models.Model):
    """Something an app learned that others may act on, recorded in the transaction of the change.

    Nothing in the product edits or deletes it. The outbox delivers it to each subscriber that was
    registered for its kind when it was recorded; ``EventDelivery`` marks who has had it.
    """

    kind = models.CharField(max_length=100)
    payload = models.JSONField()
    actor_name = models.CharField(max_length=150)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="event_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class EventDelivery(models.Model):
    """A subscriber has handled an event: written in the same transaction as what the subscriber did,
    so that an event is acted on once per subscriber however often its message arrives."""

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "event deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "subscriber"], name="event_delivered_once")]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscriber}"
