"""Compliance exports: schedules that admins set, and the files their runs store (docs/boms.md#exports).

Imported by ``boms.models`` so that Django finds them in the ``boms`` app.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

EXPORT_SCOPES = ("organization", "system", "team", "environment")


class ExportFormat(models.TextChoices):
    CYCLONEDX_JSON = "cyclonedx-json", "CycloneDX JSON"
    CYCLONEDX_XML = "cyclonedx-xml", "CycloneDX XML"
    CSV = "csv", "CSV inventory"


class ExportScopeKind(models.TextChoices):
    ORGANIZATION = "organization"
    SYSTEM = "system"
    TEAM = "team"
    ENVIRONMENT = "environment"


class ExportEvery(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ExportSchedule(models.Model):
    """An export that runs by itself: a scope, a format, and when (``every`` day, week or month at
    ``at`` UTC; weekly on ``weekday``, 0 = Monday; monthly on ``day_of_month``, 1-28 so every month has
    it). ``last_slot`` is the latest slot a run was started for: the compare-and-set on it is what
    makes one slot one run, however many beats look. ``keep`` files are kept (and, with ``keep_days``,
    none older than that), never fewer than the latest."""

    name = models.CharField(max_length=100, unique=True)
    scope = models.CharField(max_length=16, choices=ExportScopeKind.choices)
    scope_name = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    spec_version = models.CharField(max_length=8, default="1.6")
    every = models.CharField(max_length=8, choices=ExportEvery.choices, default=ExportEvery.DAILY)
    at = models.TimeField(help_text="UTC")
    weekday = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(6)])
    day_of_month = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(28)])
    enabled = models.BooleanField(default=True)
    keep = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1), MaxValueValidator(10_000)])
    keep_days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    last_slot = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(keep__gte=1), name="export_schedule_keep_positive"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="export_schedule_weekday_valid"),
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=28), name="export_schedule_day_valid"
            ),
            models.CheckConstraint(
                condition=Q(scope="organization", scope_name="") | (~Q(scope="organization") & ~Q(scope_name="")),
                name="export_schedule_scope_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ExportFile(models.Model):
    """A file an export run stored (``name`` in the exports storage), its detached Ed25519 signature
    beside it (``signature_name``), with its size and SHA-256. ``slot`` is the scheduled time it was
    made for (null: run on demand); one file per schedule and slot."""

    schedule = models.ForeignKey(ExportSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    job = models.OneToOneField("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    slot = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=16, choices=ExportScopeKind.choices)
    scope_name = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    spec_version = models.CharField(max_length=8, blank=True)
    name = models.CharField(max_length=300, unique=True)
    signature_name = models.CharField(max_length=300)
    filename = models.CharField(max_length=200)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(default=0, help_text="models in the file")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "slot"], condition=Q(slot__isnull=False), name="export_file_one_per_slot"
            ),
        ]
        indexes = [models.Index(fields=["schedule", "-created_at"], name="export_file_schedule_recent")]

    def __str__(self) -> str:
        return self.filename
