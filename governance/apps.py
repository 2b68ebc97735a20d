"""Governance: audit reviews of models, policies and their violations, and the deploy gate, above the inventory."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Subscribes to the inventory's events and adds its reviews and policies to the demo; the
    inventory never imports this app."""

    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import subscribers  # noqa: F401  (subscribes to the inventory's events)
        from governance.demo import seed_demo_policies, seed_demo_reviews
        from inventory.demo import demo_seeded

        # In this order: the policies' violations are evaluated once the demo reviews exist.
        demo_seeded.connect(seed_demo_reviews, dispatch_uid="governance.demo_reviews")
        demo_seeded.connect(seed_demo_policies, dispatch_uid="governance.demo_policies")
