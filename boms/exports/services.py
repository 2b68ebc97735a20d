"""Compliance exports: what the API, the admin, the portal and beat call.

- Schedules are set by admins (``Capability.ADMINISTER``): ``create_schedule``, ``update_schedule``.
- ``start_due_runs`` (beat, every ``EXPORT_BEAT_SECONDS``) starts one ``export`` job per enabled
  schedule whose latest slot (``boms.exports.timing``) is after its creation and after the last slot
  it ran for. The claim is a compare-and-set on ``last_slot`` in the job's transaction, so two beats
  (or two beat processes) looking at once start the slot's run once; a missed slot (beat down,
  schedule disabled) is run once when next looked at, only the latest one.
- ``run_schedule_now`` (a schedule's run on demand) and ``run_adhoc`` (any scope and format) are
  admins' too: a run stores a file, and a schedule's run deletes its older files.
- Reading (``Capability.READ``): the stored files, their signatures, the public key.

Files live in the ``exports`` storage (``STORAGES["exports"]``, the default storage unless
``EXPORT_STORAGE_BACKEND`` names another) under ``exports/<schedule-<id> | adhoc>/``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import Storage, default_storage, storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from boms.documents import Scope
from boms.export_models import ExportFile, ExportFormat, ExportSchedule
from boms.exports import timing
from boms.validation import SPEC_VERSIONS
from core import changelog
from core.access import Capability, Principal
from core.changelog import Actor
from core.jobs import start_job
from core.models import Job

JOB_KIND = "export"
BEAT_ACTOR = "exports"
NAMED_SCOPES = ("system", "team", "environment")
DEFINITION = (
    "name", "scope", "scope_name", "format", "spec_version", "every", "at", "weekday", "day_of_month",
    "enabled", "keep", "keep_days",
)  # fmt: skip


def export_storage() -> Storage:
    """The storage export files go to: ``STORAGES["exports"]``, else the default storage."""
    return storages["exports"] if "exports" in settings.STORAGES else default_storage


def _require(principal: Principal, capability: Capability, what: str) -> None:
    if not principal.can(capability):
        raise PermissionDenied(f"your role ({principal.role}) may not {what}")


def check_target(*, scope: str, scope_name: str, format: str, spec_version: str) -> None:
    """The rules across a run's fields, as a ValidationError naming the field."""
    if scope in NAMED_SCOPES and not scope_name:
        raise ValidationError({"scope_name": f"required for the {scope} scope"})
    if scope == "organization" and scope_name:
        raise ValidationError({"scope_name": "the organization scope takes no name"})
    if format not in ExportFormat.values:
        raise ValidationError({"format": f"expected one of {', '.join(ExportFormat.values)}"})
    if format != ExportFormat.CSV and spec_version not in SPEC_VERSIONS:
        raise ValidationError({"spec_version": f"expected one of {', '.join(SPEC_VERSIONS)}"})


def _checked(schedule: ExportSchedule) -> None:
    check_target(
        scope=schedule.scope, scope_name=schedule.scope_name, format=schedule.format, spec_version=schedule.spec_version
    )
    schedule.full_clean(validate_unique=False)


def create_schedule(*, principal: Principal, definition: Mapping[str, Any]) -> ExportSchedule:
    """Add a schedule (admins); its first run is at its first slot after now."""
    _require(principal, Capability.ADMINISTER, "manage export schedules")
    unknown = sorted(set(definition) - set(DEFINITION))
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    schedule = ExportSchedule(**definition)
    _checked(schedule)
    with transaction.atomic():
        try:
            with transaction.atomic():
                schedule.save()
        except IntegrityError:
            raise ValidationError({"name": "an export schedule with this name exists"}) from None
        changelog.record(actor=principal.actor, action="create", instance=schedule, after=changelog.snapshot(schedule))
    return schedule


def update_schedule(*, principal: Principal, schedule: ExportSchedule, changes: Mapping[str, Any]) -> ExportSchedule:
    """Change any of a schedule's fields (admins); nothing is written when nothing differs."""
    _require(principal, Capability.ADMINISTER, "manage export schedules")
    unknown = sorted(set(changes) - set(DEFINITION))
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    with transaction.atomic():
        current = ExportSchedule.objects.select_for_update().get(pk=schedule.pk)
        before = changelog.snapshot(current)
        for name, value in changes.items():
            setattr(current, name, value)
        after = changelog.snapshot(current)
        if all(after[name] == before[name] for name in DEFINITION):
            return current
        _checked(current)
        try:
            with transaction.atomic():
                current.save()
        except IntegrityError:
            raise ValidationError({"name": "an export schedule with this name exists"}) from None
        changelog.record_many([changelog.update(actor=principal.actor, instance=current, before=before)])
    return current


def due_slot(schedule: ExportSchedule, now: datetime) -> datetime | None:
    """The slot the schedule is due for at ``now``, or None."""
    if not schedule.enabled:
        return None
    slot = timing.latest_slot(
        every=schedule.every, at=schedule.at, weekday=schedule.weekday, day_of_month=schedule.day_of_month, now=now
    )
    if slot < schedule.created_at or (schedule.last_slot is not None and slot <= schedule.last_slot):
        return None
    return slot


def next_run(schedule: ExportSchedule, now: datetime | None = None) -> datetime | None:
    """When the schedule runs next (None when disabled): its due slot now, else its next slot."""
    if not schedule.enabled:
        return None
    now = now or timezone.now()
    return due_slot(schedule, now) or timing.next_slot(
        every=schedule.every, at=schedule.at, weekday=schedule.weekday, day_of_month=schedule.day_of_month, now=now
    )


def _params(schedule: ExportSchedule | None, slot: datetime | None, **target: str) -> dict[str, Any]:
    if schedule is not None:
        target = {
            "scope": schedule.scope,
            "name": schedule.scope_name,
            "format": schedule.format,
            "version": schedule.spec_version,
        }
    return {
        "schedule": schedule.pk if schedule else None,
        "slot": slot.isoformat() if slot else None,
        **target,
    }


def start_due_runs(*, now: datetime | None = None) -> list[Job]:
    """Start the run of every schedule that is due (beat calls this); returns the jobs started."""
    now = now or timezone.now()
    actor = Actor.system(BEAT_ACTOR)
    started = []
    for schedule in ExportSchedule.objects.filter(enabled=True):
        slot = due_slot(schedule, now)
        if slot is None:
            continue
        with transaction.atomic():
            claimed = (
                ExportSchedule.objects.filter(pk=schedule.pk, enabled=True)
                .exclude(last_slot__gte=slot)
                .update(last_slot=slot)
            )
            if claimed:  # this beat won the slot; any other sees last_slot set and starts nothing
                started.append(start_job(actor=actor, kind=JOB_KIND, params=_params(schedule, slot)))
    return started


def run_schedule_now(*, principal: Principal, schedule: ExportSchedule) -> Job:
    """A schedule's run on demand (admins): its file counts for the schedule's retention."""
    _require(principal, Capability.ADMINISTER, "run exports")
    return start_job(
        actor=principal.actor, kind=JOB_KIND, params=_params(schedule, None), requested_by=principal.person
    )


def run_adhoc(*, principal: Principal, scope: str, scope_name: str, format: str, spec_version: str) -> Job:
    """A one-off export of any scope (admins); its file belongs to no schedule and is kept."""
    _require(principal, Capability.ADMINISTER, "run exports")
    check_target(scope=scope, scope_name=scope_name, format=format, spec_version=spec_version)
    Scope(scope, scope_name)
    params = _params(None, None, scope=scope, name=scope_name, format=format, version=spec_version)
    return start_job(actor=principal.actor, kind=JOB_KIND, params=params, requested_by=principal.person)


# --- retention -------------------------------------------------------------------------------------


def apply_retention(*, schedule_id: int, now: datetime | None = None) -> list[str]:
    """Delete the schedule's files beyond its ``keep`` newest and, with ``keep_days``, those older than
    that, oldest first, but never its newest file. The rows go first (in one transaction, with their
    change-log rows), then the stored files; returns the names deleted."""
    now = now or timezone.now()
    schedule = ExportSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        return []
    files = list(ExportFile.objects.filter(schedule_id=schedule_id).order_by("-created_at", "-id"))
    if len(files) <= 1:
        return []
    older = files[1:]  # the newest is never deleted
    doomed = older[schedule.keep - 1 :]
    if schedule.keep_days:
        cutoff = now - timedelta(days=schedule.keep_days)
        doomed += [file for file in older[: schedule.keep - 1] if file.created_at < cutoff]
    if not doomed:
        return []
    with transaction.atomic():
        deleted = ExportFile.objects.filter(pk__in=[file.pk for file in doomed])
        changelog.record_many(
            changelog.deletions(actor=Actor.system(BEAT_ACTOR), instances=doomed, message="export retention")
        )
        deleted.delete()
    storage = export_storage()
    names = []
    for file in doomed:
        for name in (file.name, file.signature_name):
            storage.delete(name)
            names.append(name)
    return names


# --- reading ---------------------------------------------------------------------------------------


class ExportFileMissing(LookupError):
    """The file (or its signature) is gone from the storage."""


@dataclass
class OpenedExport:
    file: IO[bytes]
    filename: str
    media_type: str
    size: int


def open_export(*, principal: Principal, export_file: ExportFile, signature: bool = False) -> OpenedExport:
    """The stored file, or its detached signature (``<filename>.sig``), opened for reading."""
    _require(principal, Capability.READ, "read exports")
    name = export_file.signature_name if signature else export_file.name
    try:
        opened = export_storage().open(name, "rb")
    except FileNotFoundError:
        raise ExportFileMissing(f"export file #{export_file.pk}: {name} is missing from the storage") from None
    if signature:
        return OpenedExport(opened, f"{export_file.filename}.sig", "application/octet-stream", 64)
    return OpenedExport(opened, export_file.filename, export_file.media_type, export_file.size)


def public_key(*, principal: Principal) -> str:
    """The PEM public key signatures verify with."""
    from boms.exports import signing

    _require(principal, Capability.READ, "read exports")
    return signing.public_key_pem()


__all__ = [
    "ExportFileMissing",
    "apply_retention",
    "create_schedule",
    "export_storage",
    "next_run",
    "open_export",
    "public_key",
    "run_adhoc",
    "run_schedule_now",
    "start_due_runs",
    "update_schedule",
]
