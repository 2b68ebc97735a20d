"""``manage.py refresh_all``: refresh every stale model (and the bases they name) in the foreground."""

from typing import Any

from django.core.management.base import BaseCommand

from inventory.refresh.foreground import refresh_in_foreground
from inventory.refresh.jobs import stale_model_ids


class Command(BaseCommand):
    """The same work as the scheduled refresh job: models never refreshed, last in error or rate
    limited, or older than REFRESH_STALE_AFTER_SECONDS, plus the base models found on the way."""

    help = "Refresh every stale hub model, with a progress bar."

    def handle(self, *args: Any, **options: Any) -> None:
        model_ids = stale_model_ids()
        self.stdout.write(f"{len(model_ids)} stale models")
        refresh_in_foreground(model_ids, stdout=self.stdout, stderr=self.stderr)
