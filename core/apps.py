"""Core: background jobs, the outbox, request ids and health probes (the lowest layer)."""

import importlib

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Registers the job kinds core itself provides, and the event subscribers named in settings."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from core import worker_check  # noqa: F401  (registers the worker_check job kind)

        for module in settings.EVENT_SUBSCRIBER_MODULES:
            importlib.import_module(module)
