"""Policies over a model's facts, the violations they find, break-glass overrides, and the deploy
gate's decisions (see docs/policies.md). Written only through ``governance.policies`` and
``governance.gate``, each change logged."""

from django.db import models
from django.db.models import Q

from inventory.models import AIModel


class PolicyAction(models.TextChoices):
    FAIL = "fail"  # the gate denies
    WARN = "warn"  # the gate warns
    INFO = "info"  # the gate only says so


class PolicyMatch(models.TextChoices):
    ALL = "all"
    ANY = "any"


class Policy(models.Model):
    """A rule over a model's facts (``conditions``, combined by ``match``) with the gate ``action``
    it takes, limited to ``environments``, model ``tags`` and ``teams`` (empty: everywhere).

    Each edit is a new ``version``, kept whole in ``PolicyVersion``; a policy is disabled, never
    deleted, so decisions and violations keep what they were made under.
    """

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=False)
    action = models.CharField(max_length=8, choices=PolicyAction.choices)
    match = models.CharField(max_length=8, choices=PolicyMatch.choices, default=PolicyMatch.ALL)
    environments = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    teams = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=list)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=PolicyAction.values), name="policy_action_valid"),
            models.CheckConstraint(condition=Q(match__in=PolicyMatch.values), name="policy_match_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """A policy as one of its versions defined it."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="policy_version_once")]

    def __str__(self) -> str:
        return f"{self.policy} v{self.version}"


class ViolationState(models.TextChoices):
    OPEN = "open"
    WAIVED = "waived"  # an auditor accepted it, with a reason, until ``waived_until``
    RESOLVED = "resolved"  # the conditions no longer hold


class Violation(models.Model):
    """A policy's conditions hold for a model (in the policy's tag and team scope): one row per
    (policy, model), kept current as the facts change."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="violations")
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="violations")
    state = models.CharField(max_length=16, choices=ViolationState.choices, default=ViolationState.OPEN)
    message = models.TextField()
    policy_version = models.PositiveIntegerField()
    first_seen = models.DateTimeField()
    changed_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    waiver_reason = models.TextField(blank=True)
    waived_by = models.CharField(max_length=150, blank=True)
    waived_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "model"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "model"], name="violation_once_per_policy_and_model"),
            models.CheckConstraint(condition=Q(state__in=ViolationState.values), name="violation_state_valid"),
        ]
        indexes = [models.Index(fields=["model", "state"], name="violation_model_state_idx")]

    def __str__(self) -> str:
        return f"{self.policy} on {self.model} ({self.state})"


class Override(models.Model):
    """Break-glass: an admin lets a model through the gate in one environment until ``expires_at``."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="gate_overrides")
    environment = models.CharField(max_length=50)
    reason = models.TextField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "environment", "expires_at"], name="override_lookup_idx")]

    def __str__(self) -> str:
        return f"override of {self.model} in {self.environment} until {self.expires_at:%Y-%m-%d %H:%M}"


class GateDecision(models.Model):
    """One answer of the deploy gate, with the facts and policy versions it was made from."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_name = models.CharField(max_length=150)
    request_id = models.CharField(max_length=128, blank=True)
    reference = models.CharField(max_length=300)  # as asked
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="gate_decisions")
    revision = models.CharField(max_length=100, blank=True)
    environment = models.CharField(max_length=50)
    system = models.CharField(max_length=100, blank=True)
    decision = models.CharField(max_length=8)  # allow, warn, deny
    reasons = models.JSONField(default=list)
    facts = models.JSONField(default=dict)
    policy_versions = models.JSONField(default=dict)  # name -> version, of every policy in scope
    artifacts = models.JSONField(default=list)  # each file asked about, with what was found
    override = models.ForeignKey(Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "environment", "created_at"], name="decision_model_env_idx")]

    def __str__(self) -> str:
        return f"{self.decision} for {self.reference} in {self.environment}"
