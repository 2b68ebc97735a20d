"""The curated catalogues: publishers with their countries, and licenses with their terms.

They ship as TOML files in ``inventory/data/`` (see docs/catalogues.md). ``parse_catalogue`` reads a
file into entries, refusing unknown or missing fields by name; ``apply_catalogue`` brings the
database in line with the entries through the services, so every change is logged and the origins
it affects are recomputed. Applying the same catalogue twice changes nothing.
"""

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from core.changelog import Actor, snapshot
from inventory.models import License, LicenseAlias, Publisher, PublisherNamespace, Source
from inventory.services import licenses, publishers

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_FILES = (DATA_DIR / "licenses.toml", DATA_DIR / "publishers.toml")

Row = TypeVar("Row", bound=models.Model)
# How ``_upsert`` brings an existing row in line: (row, facts) -> the row as saved.
Updater = Callable[[Row, dict[str, Any]], Row]


class CatalogueError(ValueError):
    """A catalogue file or entry that cannot be applied; the message names the file, entry and field."""


@dataclass(frozen=True)
class NamespaceEntry:
    source: str
    namespace: str
    is_alias: bool


@dataclass(frozen=True)
class PublisherEntry:
    name: str
    display_name: str
    country: str
    country_source: str
    website: str
    parent: str
    namespaces: tuple[NamespaceEntry, ...]


@dataclass(frozen=True)
class LicenseEntry:
    key: str
    name: str
    category: str
    commercial_use: str
    url: str
    aliases: tuple[str, ...]
    obligations: dict[str, Any]


@dataclass
class Catalogue:
    publishers: list[PublisherEntry] = field(default_factory=list)
    licenses: list[LicenseEntry] = field(default_factory=list)


_PUBLISHER_FIELDS = {
    "name", "display_name", "country", "country_source", "website", "parent",
    "huggingface", "huggingface_aliases", "modelscope", "note",
}  # fmt: skip
_LICENSE_FIELDS = {"key", "name", "category", "commercial_use", "url", "aliases", "obligations", "note"}


def _fields(table: dict[str, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CatalogueError(f"{where}: unknown field {unknown[0]!r}")
    missing = sorted(required - set(table))
    if missing:
        raise CatalogueError(f"{where}: missing field {missing[0]!r}")


def _typed(table: dict[str, Any], where: str, lists: set[str]) -> None:
    for key, value in table.items():
        if key == "obligations":
            if not isinstance(value, dict):
                raise CatalogueError(f"{where}: obligations: must be a table")
        elif key in lists:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise CatalogueError(f"{where}: {key}: must be a list of strings")
        elif not isinstance(value, str):
            raise CatalogueError(f"{where}: {key}: must be a string")


def _publisher(table: dict[str, Any], origin: str) -> PublisherEntry:
    where = f"{origin}: publisher {table.get('name', '?')!r}"
    _fields(table, _PUBLISHER_FIELDS, {"name", "country", "country_source"}, where)
    _typed(table, where, lists={"huggingface", "huggingface_aliases", "modelscope"})
    if table.get("parent") == table["name"]:
        raise CatalogueError(f"{where}: parent: a publisher cannot be its own parent")
    if table["country"] and not table["country_source"]:
        raise CatalogueError(f"{where}: country_source: a country needs the URL that states it")
    namespaces = [
        *(NamespaceEntry(Source.HUGGINGFACE, name, False) for name in table.get("huggingface", [])),
        *(NamespaceEntry(Source.HUGGINGFACE, name, True) for name in table.get("huggingface_aliases", [])),
        *(NamespaceEntry(Source.MODELSCOPE, name, False) for name in table.get("modelscope", [])),
    ]
    return PublisherEntry(
        name=table["name"],
        display_name=table.get("display_name", ""),
        country=table["country"],
        country_source=table["country_source"],
        website=table.get("website", ""),
        parent=table.get("parent", ""),
        namespaces=tuple(namespaces),
    )


def _license(table: dict[str, Any], origin: str) -> LicenseEntry:
    where = f"{origin}: license {table.get('key', '?')!r}"
    _fields(table, _LICENSE_FIELDS, {"key", "name", "category", "commercial_use", "url"}, where)
    _typed(table, where, lists={"aliases"})
    return LicenseEntry(
        key=table["key"],
        name=table["name"],
        category=table["category"],
        commercial_use=table["commercial_use"],
        url=table["url"],
        aliases=tuple(alias.lower() for alias in table.get("aliases", [])),
        obligations=table.get("obligations", {}),
    )


def parse_catalogue(text: str, *, origin: str) -> Catalogue:
    """Entries of a catalogue file (``[[publisher]]`` and / or ``[[license]]`` tables)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{origin}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"publisher", "license"})
    if unknown:
        raise CatalogueError(f"{origin}: unknown table {unknown[0]!r}; expected [[publisher]] or [[license]]")
    return Catalogue(
        publishers=[_publisher(table, origin) for table in data.get("publisher", [])],
        licenses=[_license(table, origin) for table in data.get("license", [])],
    )


def shipped_catalogue() -> Catalogue:
    """The catalogue that ships with the product."""
    catalogue = Catalogue()
    for path in SHIPPED_FILES:
        part = parse_catalogue(path.read_text(encoding="utf-8"), origin=path.name)
        catalogue.publishers += part.publishers
        catalogue.licenses += part.licenses
    return catalogue


def _upsert(
    model: type[Row], key: dict[str, str], facts: dict[str, Any], *, create: Callable[..., Row], update: Updater[Row]
) -> tuple[Row, int]:
    """The row under ``key``, created with ``facts`` or brought in line with them; and 1 if that
    wrote anything, else 0."""
    existing = model.objects.filter(**key).first()
    if existing is None:
        return create(**key, **facts), 1
    updated = update(existing, facts)
    return updated, int(snapshot(updated) != snapshot(existing))


def _apply_license(actor: Actor, entry: LicenseEntry) -> int:
    terms = {
        "name": entry.name,
        "category": entry.category,
        "commercial_use": entry.commercial_use,
        "obligations": entry.obligations,
        "url": entry.url,
    }
    license_, changes = _upsert(
        License,
        {"key": entry.key},
        terms,
        create=partial(licenses.create_license, actor=actor),
        update=lambda row, changed: licenses.update_license(actor=actor, license_=row, changes=changed),
    )
    for alias in entry.aliases:
        existing = LicenseAlias.objects.filter(alias__iexact=alias).first()
        if existing is not None and existing.license_id != license_.pk:
            licenses.remove_license_alias(actor=actor, alias=existing)
            changes += 1
            existing = None
        if existing is None:
            licenses.add_license_alias(actor=actor, license_=license_, alias=alias)
            changes += 1
    return changes


def _apply_publisher(actor: Actor, entry: PublisherEntry) -> int:
    facts = {
        "display_name": entry.display_name,
        "country": entry.country,
        "country_source": entry.country_source,
        "website": entry.website,
    }
    publisher, changes = _upsert(
        Publisher,
        {"name": entry.name},
        facts,
        create=partial(publishers.create_publisher, actor=actor),
        update=lambda row, changed: publishers.update_publisher(actor=actor, publisher=row, changes=changed),
    )
    for namespace in entry.namespaces:
        existing = PublisherNamespace.objects.filter(
            source=namespace.source, namespace__iexact=namespace.namespace
        ).first()
        if existing is None:
            publishers.add_namespace(
                actor=actor,
                publisher=publisher,
                source=namespace.source,
                namespace=namespace.namespace,
                is_alias=namespace.is_alias,
            )
            changes += 1
        elif (existing.publisher_id, existing.is_alias) != (publisher.pk, namespace.is_alias):
            publishers.move_namespace(actor=actor, namespace=existing, publisher=publisher, is_alias=namespace.is_alias)
            changes += 1
    return changes


def _apply_parent(actor: Actor, entry: PublisherEntry, where: str) -> int:
    parent = None
    if entry.parent:
        parent = Publisher.objects.filter(name=entry.parent).first()
        if parent is None:
            raise CatalogueError(f"{where}: parent: no publisher named {entry.parent!r}")
    publisher = Publisher.objects.get(name=entry.name)
    if publisher.parent_id == (parent.pk if parent else None):
        return 0
    publishers.update_publisher(actor=actor, publisher=publisher, changes={"parent": parent})
    return 1


def _refuse_duplicates(catalogue: Catalogue) -> None:
    """Each name, key, namespace and alias once: a file that says two things would flip on every load."""
    seen: dict[str, str] = {}
    claims = [
        *((f"license {entry.key!r}", f"license {entry.key!r}") for entry in catalogue.licenses),
        *((f"alias {alias!r}", f"license {entry.key!r}") for entry in catalogue.licenses for alias in entry.aliases),
        *((f"publisher {entry.name!r}", f"publisher {entry.name!r}") for entry in catalogue.publishers),
        *(
            (f"namespace {namespace.source}:{namespace.namespace.lower()!r}", f"publisher {entry.name!r}")
            for entry in catalogue.publishers
            for namespace in entry.namespaces
        ),
    ]
    for claim, owner in claims:
        if claim in seen:
            raise CatalogueError(f"{claim} is listed twice ({seen[claim]} and {owner})")
        seen[claim] = owner


def apply_catalogue(*, actor: Actor, catalogue: Catalogue) -> int:
    """Bring licenses, publishers and their namespaces in line with ``catalogue``, in one transaction.

    Returns the number of rows it created, changed or deleted for the catalogue's entries (each one
    logged; the origin recomputations they cause are logged too, but not counted); 0 when the
    database already agrees. An entry the services refuse stops the whole load, with the entry and
    field named.
    """
    _refuse_duplicates(catalogue)
    changes = 0
    with transaction.atomic():
        for entry in catalogue.licenses:
            changes += _applied(lambda entry=entry: _apply_license(actor, entry), f"license {entry.key!r}")
        for entry in catalogue.publishers:
            changes += _applied(lambda entry=entry: _apply_publisher(actor, entry), f"publisher {entry.name!r}")
        for entry in catalogue.publishers:  # parents may come later in the file
            where = f"publisher {entry.name!r}"
            changes += _applied(lambda entry=entry, where=where: _apply_parent(actor, entry, where), where)
    return changes


def _applied(apply: Callable[[], int], where: str) -> int:
    try:
        return apply()
    except ValidationError as error:
        details = "; ".join(
            f"{name}: {' '.join(messages)}"
            for name, messages in getattr(error, "message_dict", {"": error.messages}).items()
        )
        raise CatalogueError(f"{where}: {details}") from None
