"""``manage.py load_catalogue FILE [FILE ...]``: apply curated catalogue files (publishers, licenses)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.changelog import Actor
from inventory.catalogue import SHIPPED_FILES, Catalogue, CatalogueError, apply_catalogue, parse_catalogue


class Command(BaseCommand):
    """Idempotent: a second run reports no changes. Every change goes to the change log."""

    help = "Apply catalogue files ([[publisher]] / [[license]] TOML); --shipped applies the ones in inventory/data/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path)
        parser.add_argument("--shipped", action="store_true", help="apply the catalogue that ships with the product")

    def handle(self, *args: Any, files: list[Path], shipped: bool, **options: Any) -> None:
        paths = [*files, *(SHIPPED_FILES if shipped else ())]
        if not paths:
            raise CommandError("name at least one catalogue file, or --shipped")
        catalogue = Catalogue()
        try:
            for path in paths:
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
                part = parse_catalogue(text, origin=str(path))
                catalogue.publishers += part.publishers
                catalogue.licenses += part.licenses
            changes = apply_catalogue(actor=Actor.system("catalogue"), catalogue=catalogue)
        except CatalogueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{len(catalogue.publishers)} publishers, {len(catalogue.licenses)} licenses: "
            + (f"{changes} changes written to the change log" if changes else "already up to date")
        )
