"""Celery tasks of the core layer: thin wrappers that load by id and call a service."""

from typing import Any

from celery import shared_task
from django.conf import settings

from core import events, jobs, outbox
from core.outbox_task import OutboxTask


class JobTask(OutboxTask):
    """Runs jobs; a job whose runs kept dying is marked failed with the reason."""

    def gave_up(self, reason: str, *args: Any, job_id: int, **kwargs: Any) -> None:
        jobs.fail_job(job_id=job_id, error=reason)


@shared_task(base=JobTask, name=jobs.RUN_JOB_TASK)
def run_job(job_id: int) -> None:
    """Run one job (safe to run twice: a finished job is left alone)."""
    jobs.run_job(job_id=job_id)


@shared_task(name="core.purge_outbox")
def purge_outbox() -> int:
    """Delete outbox rows that finished more than OUTBOX_KEEP_FINISHED_DAYS ago."""
    return outbox.purge_finished(older_than_days=settings.OUTBOX_KEEP_FINISHED_DAYS)


@shared_task(bind=True, base=OutboxTask, name=events.DELIVER_TASK, max_retries=None)
def deliver_event(self: OutboxTask, event_id: int, subscriber: str) -> None:
    """Hand one event to one subscriber; a failure retries this delivery alone, later each time,
    until EVENT_DELIVERY_MAX_ATTEMPTS tries have failed (then the outbox row keeps the error)."""
    try:
        events.deliver(event_id=event_id, subscriber=subscriber)
    except Exception as exc:
        attempt = self.request.retries + 1
        if attempt >= settings.EVENT_DELIVERY_MAX_ATTEMPTS:
            raise
        delay = min(settings.EVENT_RETRY_SECONDS * 2 ** (attempt - 1), settings.EVENT_RETRY_MAX_SECONDS)
        raise self.retry(exc=exc, countdown=delay) from exc
