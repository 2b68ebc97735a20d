"""Celery tasks of governance: thin wrappers around its services."""

from celery import shared_task

from governance import services, violations


@shared_task(name="governance.expire_reviews")
def expire_reviews() -> int:
    """Store ``expired`` on approvals past their validity (beat runs this); returns how many."""
    return services.expire_reviews()


@shared_task(name="governance.sweep_violations")
def sweep_violations() -> int:
    """Reopen lapsed waivers and re-evaluate time-dependent policies (beat runs this)."""
    return violations.sweep()
