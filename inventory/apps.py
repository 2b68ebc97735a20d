"""Inventory: the catalogue of models, publishers, licenses, lineage and deployments."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """The catalogue app; its models arrive with the domain issue."""

    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"
