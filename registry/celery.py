"""The Celery app: configured from Django settings, with the outbox relay in every worker."""

import os

from celery import Celery

from core.outbox_worker import OutboxRelayStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(OutboxRelayStep)
