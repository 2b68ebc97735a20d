"""Celery tasks of governance: thin wrappers around its services."""

from celery import shared_task

from governance import services


@shared_task(name="governance.expire_reviews")
def expire_reviews() -> int:
    """Store ``expired`` on approvals past their validity (beat runs this); returns how many."""
    return services.expire_reviews()
