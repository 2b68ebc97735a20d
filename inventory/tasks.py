"""Celery tasks of the inventory: thin wrappers around its services."""

from celery import shared_task

from core.changelog import Actor
from inventory.refresh.jobs import start_stale_refresh


@shared_task(name="inventory.refresh_stale")
def refresh_stale() -> int | None:
    """Start the scheduled refresh of stale models (beat runs this); returns the job's id."""
    job = start_stale_refresh(actor=Actor.system("schedule"))
    return job.pk if job else None
