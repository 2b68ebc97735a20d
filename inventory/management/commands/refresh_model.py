"""``manage.py refresh_model REFERENCE``: refresh one model (and its base models) in the foreground."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.purls import parse_reference
from inventory.refresh.foreground import COMMAND_ACTOR, refresh_in_foreground
from inventory.selectors import find_model
from inventory.services.ai_models import register_model
from inventory.sources import REFRESHABLE_SOURCES


class Command(BaseCommand):
    """The same work as the refresh job a registration starts; a model not in the inventory yet is
    registered first."""

    help = "Refresh one model from its hub: REFERENCE is a purl or source:namespace/name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="e.g. huggingface:deepseek-ai/DeepSeek-R1 or pkg:huggingface/...")

    def handle(self, *args: Any, reference: str, **options: Any) -> None:
        try:
            named = parse_reference(reference)
        except ValidationError as error:
            raise CommandError(f"reference: {' '.join(error.messages)}") from None
        if named.source not in REFRESHABLE_SOURCES:
            raise CommandError(f"models from {named.source} are not refreshed from a hub")
        model = find_model(source=named.source, upstream_id=named.upstream_id)
        if model is None:
            try:
                model, _ = register_model(actor=COMMAND_ACTOR, source=named.source, upstream_id=named.upstream_id)
            except ValidationError as error:
                raise CommandError(f"reference: {' '.join(error.messages)}") from None
            self.stdout.write(f"registered {model}")
        refresh_in_foreground([model.pk], stdout=self.stdout, stderr=self.stderr)
