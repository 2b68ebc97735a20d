"""The Celery app: configured from Django settings, with the outbox relay in every worker."""

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init

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


@worker_process_init.connect
def leave_the_worker_process_group(**kwargs: Any) -> None:
    """Put each pool process in a process group of its own, so that a signal sent to the worker's
    whole group reaches only the main process.

    Honcho (``make run``) stops a process by signalling its group, as ``kill -- -<pgid>`` does. A
    pool process got that SIGTERM together with the main process and died of it at once, in the
    middle of any task, and the main process, starting its warm shutdown, logged each as an error
    ("exited with 'signal 15 (SIGTERM)'"). Outside the group, the pool is stopped by the main
    process, after the tasks that run there. Celery has pool processes die with the main process
    (PR_SET_PDEATHSIG), so a SIGKILL to the group still ends them too."""
    os.setpgid(0, 0)
