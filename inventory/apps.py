"""Inventory: the catalogue of models, publishers, licenses, lineage and deployments."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """The catalogue app; registers the refresh job kinds."""

    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inventory.refresh import jobs  # noqa: F401  (registers the refresh job kinds)
