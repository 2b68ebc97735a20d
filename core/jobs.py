"""Jobs: background work a person may wait for, with live progress, a log and a result.

Apps register a handler per job kind with ``@job_handler("kind")``; ``start_job`` records the job
and the work to run it in one transaction, and a worker runs it through ``run_job``.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core import changelog, outbox
from core.changelog import Actor
from core.models import Job
from core.request_context import current_request_id

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "core.run_job"


class JobRun:
    """What a handler gets: its job, and ways to report progress and log lines as it goes.

    Each report is committed at once, so whoever watches the job sees it live.
    """

    def __init__(self, job: Job) -> None:
        self.job = job

    def progress(self, *, done: int, total: int | None = None) -> None:
        """Record ``done`` of ``total`` units (``total`` may stay unknown)."""
        changes: dict[str, Any] = {"progress_done": done}
        if total is not None:
            changes["progress_total"] = total
        Job.objects.filter(pk=self.job.pk).update(**changes)

    def log(self, message: str) -> None:
        """Append a time-stamped line to the job's log."""
        line = f"{timezone.now().isoformat(timespec='seconds')} {message}\n"
        Job.objects.filter(pk=self.job.pk).update(log=Concat(F("log"), Value(line)))


JobHandler = Callable[[JobRun], dict[str, Any] | None]
_handlers: dict[str, JobHandler] = {}


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register the function that runs jobs of ``kind``; its return value becomes the result."""

    def register(handler: JobHandler) -> JobHandler:
        if kind in _handlers and _handlers[kind] is not handler:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _handlers[kind] = handler
        return handler

    return register


def job_kinds() -> list[str]:
    """The kinds of job this installation can run."""
    return sorted(_handlers)


def start_job(
    *,
    actor: Actor,
    kind: str,
    params: dict[str, Any] | None = None,
    requested_by: AbstractBaseUser | None = None,
) -> Job:
    """Record a job, the work that runs it and its change-log row, in one transaction; a worker picks
    it up after commit. The actor is recorded as who asked (``requester``); ``requested_by`` links
    the person, when a person did."""
    if kind not in _handlers:
        raise ValueError(f"unknown job kind {kind!r}; known kinds: {', '.join(job_kinds())}")
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params or {},
            requested_by=requested_by,
            requester=actor.name,
            request_id=current_request_id(),
        )
        outbox.enqueue(task_name=RUN_JOB_TASK, kwargs={"job_id": job.pk})
        changelog.record(actor=actor, action="create", instance=job, after=changelog.snapshot(job))
    return job


def run_job(*, job_id: int) -> None:
    """Run a job's handler and record how it ended. A finished job is left alone, so running twice is safe."""
    updated = (
        Job.objects.filter(pk=job_id)
        .exclude(state__in=Job.FINISHED_STATES)
        .update(state=Job.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
    )
    if not updated:
        logger.info("job is finished or gone, nothing to run", extra={"job_id": job_id})
        return
    job = Job.objects.get(pk=job_id)
    run = JobRun(job)
    if job.attempts > 1:
        run.log(f"attempt {job.attempts}: an earlier attempt stopped before it finished")
    logger.info("job started", extra={"job_id": job_id, "kind": job.kind})
    try:
        result = _handlers[job.kind](run)
        Job.objects.filter(pk=job_id).update(state=Job.State.SUCCEEDED, result=result, finished_at=timezone.now())
    except Exception as exc:
        logger.exception("job failed", extra={"job_id": job_id, "kind": job.kind})
        run.log(f"failed: {type(exc).__name__}: {exc}")
        fail_job(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        return
    logger.info("job succeeded", extra={"job_id": job_id, "kind": job.kind})


def fail_job(*, job_id: int, error: str) -> None:
    """Mark an unfinished job failed with ``error``."""
    Job.objects.filter(pk=job_id).exclude(state__in=Job.FINISHED_STATES).update(
        state=Job.State.FAILED, error=error, finished_at=timezone.now()
    )
