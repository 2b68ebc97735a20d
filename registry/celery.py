"""The Celery app: configured from Django settings, with the outbox relay in every worker."""

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from core.outbox_worker import OutboxRelayStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(OutboxRelayStep)


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Log through Django's LOGGING (JSON lines with the request id) instead of Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
