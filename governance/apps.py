"""Governance: audit reviews of models (policies and the deploy gate come next), above the inventory."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Subscribes to the inventory's events; the inventory never imports this app."""

    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import subscribers  # noqa: F401  (subscribes to the inventory's events)
