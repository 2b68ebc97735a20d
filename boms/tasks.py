"""Celery tasks of boms: thin wrappers around its services."""

from celery import shared_task

from boms.exports import services


@shared_task(name="boms.run_due_exports")
def run_due_exports() -> int:
    """Start the run of every export schedule that is due (beat runs this); returns how many."""
    return len(services.start_due_runs())
