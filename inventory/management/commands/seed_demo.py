"""``manage.py seed_demo``: load the demo inventory (idempotent; restores deleted demo models)."""

from typing import Any

from django.core.management.base import BaseCommand

from core.changelog import Actor
from inventory.demo import seed_demo


class Command(BaseCommand):
    """Loads inventory/data/demo.toml through the services; apps above the inventory add theirs
    (``inventory.demo.demo_seeded``)."""

    help = (
        "Load the demo inventory: real public models, their lineage, and demo deployments"
        " (and the demo records of the apps above the inventory, such as audit reviews)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = seed_demo(actor=Actor.system("demo"))
        self.stdout.write(
            f"Demo inventory: {summary.models} models, {summary.edges} lineage edges, {summary.deployments} deployments"
        )
        for line in summary.others:  # what the apps above the inventory added to the demo
            self.stdout.write(line)
