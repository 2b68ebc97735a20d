"""The refresh as jobs a person can watch: one model (with its bases), or every stale model."""

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.access import Capability, Principal
from core.changelog import Actor
from core.jobs import JobRun, job_handler, start_job
from core.models import Job
from inventory.models import AIModel, RefreshState
from inventory.refresh.runner import RefreshRun, RunSummary
from inventory.sources import REFRESHABLE_SOURCES

REFRESH_MODEL = "refresh_model"
REFRESH_STALE = "refresh_stale"
REFRESH_ACTOR = Actor.system("refresh")
_PROGRESS_EVERY_SECONDS = 0.5
_REFRESH_REQUEST_LOCK = 7_320  # advisory-lock namespace (beside inventory.origin's): key a model id


class RefreshFailed(Exception):
    """The model a job was asked to refresh could not be refreshed."""


def stale_model_ids() -> list[int]:
    """Hub models never refreshed, last in error (rate limited included), or refreshed longer than
    REFRESH_STALE_AFTER_SECONDS ago, except those whose failed refresh is not to be tried again
    yet; the longest waiting first."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.REFRESH_STALE_AFTER_SECONDS)
    stale = Q(refreshed_at__isnull=True) | Q(refresh_state=RefreshState.ERROR) | Q(refreshed_at__lt=cutoff)
    due = Q(refresh_retry_at__isnull=True) | Q(refresh_retry_at__lte=now)
    return list(
        AIModel.objects.filter(stale, due, source__in=list(REFRESHABLE_SOURCES))
        .order_by(F("refreshed_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )


def request_refresh(*, actor: Actor, model: AIModel, requested_by: AbstractBaseUser | None = None) -> Job | None:
    """Start a job refreshing a hub model, or return the one already waiting or running for it, or
    the one that failed when the model is not to be tried again yet (``refresh_retry_at``: None
    when its failure came from another run). None for a model no hub refreshes (internal ones).

    Requests for one model take turns until their transactions end, so that many registrations of
    it at once start one job."""
    if model.source not in REFRESHABLE_SOURCES:
        return None
    with transaction.atomic():
        _take_turn(model.pk)
        jobs = Job.objects.filter(kind=REFRESH_MODEL, params__model_id=model.pk)
        unfinished = jobs.exclude(state__in=Job.FINISHED_STATES).first()
        if unfinished is not None:
            return unfinished
        # read now, not from ``model``: a request that waited its turn sees the failure just recorded
        retry_at = AIModel.objects.filter(pk=model.pk).values_list("refresh_retry_at", flat=True).first()
        if retry_at is not None and retry_at > timezone.now():
            latest = jobs.first()
            return latest if latest is not None and latest.state == Job.State.FAILED else None
        return start_job(
            actor=actor,
            kind=REFRESH_MODEL,
            params={"model_id": model.pk, "model": str(model)},
            requested_by=requested_by,
        )


def refresh_as(principal: Principal, model: AIModel) -> Job | None:
    """``request_refresh`` on behalf of ``principal``: refreshing changes the inventory, so it needs
    the EDIT capability, and an editor with a team refreshes only that team's models (else
    ``PermissionDenied``)."""
    if not principal.can(Capability.EDIT):
        raise PermissionDenied(f"your role ({principal.role}) may not refresh models")
    principal.require_team(model.team, f"model {model}")
    return request_refresh(actor=principal.actor, model=model, requested_by=principal.person)


def _take_turn(model_id: int) -> None:
    """Wait for the other requests for this model's refresh, until the end of this transaction
    (PostgreSQL; SQLite lets one writer in at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The two-key form, in a namespace of its own; ids past 2**31 wrap around (and merely share a turn).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_REFRESH_REQUEST_LOCK, (model_id + 2**31) % 2**32 - 2**31]
            )


def start_stale_refresh(*, actor: Actor) -> Job | None:
    """Start the refresh of every stale model, unless one is already waiting or running."""
    if Job.objects.filter(kind=REFRESH_STALE).exclude(state__in=Job.FINISHED_STATES).exists():
        return None
    return start_job(actor=actor, kind=REFRESH_STALE)


class _ThrottledProgress:
    """Reports progress to the job at most every half second, and always the last count."""

    def __init__(self, run: JobRun) -> None:
        self.run = run
        self.last_report = 0.0

    def __call__(self, *, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last_report >= _PROGRESS_EVERY_SECONDS:
            self.last_report = now
            self.run.progress(done=done, total=total)


def _run(run: JobRun, model_ids: list[int]) -> RunSummary:
    return RefreshRun(actor=REFRESH_ACTOR, on_progress=_ThrottledProgress(run), on_log=run.log).run(model_ids)


@job_handler(REFRESH_MODEL)
def refresh_model_job(run: JobRun) -> dict[str, Any]:
    """Refresh one model and the base models it names; fails when that model could not be refreshed."""
    model = AIModel.objects.filter(pk=run.job.params["model_id"]).first()
    if model is None:
        raise RefreshFailed(f"model #{run.job.params['model_id']} is no longer in the inventory")
    summary = _run(run, [model.pk])
    if str(model) in summary.failed:
        raise RefreshFailed(summary.failed[str(model)])
    return summary.as_result()


@job_handler(REFRESH_STALE)
def refresh_stale_job(run: JobRun) -> dict[str, Any]:
    """Refresh every stale model, and the base models they name."""
    model_ids = stale_model_ids()
    run.log(f"{len(model_ids)} stale models to refresh")
    return _run(run, model_ids).as_result()
