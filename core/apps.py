"""Core: background jobs, the outbox, request ids and health probes (the lowest layer)."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Registers the job kinds core itself provides."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import worker_check  # noqa: F401  (registers the worker_check job kind)
