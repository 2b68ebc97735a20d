"""Governance: audit reviews of models (policies and the deploy gate come next), above the inventory."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Subscribes to the inventory's events and adds its reviews to the demo; the inventory never
    imports this app."""

    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import subscribers  # noqa: F401  (subscribes to the inventory's events)
        from governance.demo import seed_demo_reviews
        from inventory.demo import demo_seeded

        demo_seeded.connect(seed_demo_reviews, dispatch_uid="governance.demo_reviews")
