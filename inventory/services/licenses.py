"""Services for the license catalogue and the aliases hubs use."""

from typing import TypedDict

from django.db import transaction

from core import changelog, events
from core.changelog import Actor
from inventory.events import LicenseTermsChanged
from inventory.models import License, LicenseAlias
from inventory.services._common import create_validated, delete_logged, field_changes, update_validated


class LicenseChanges(TypedDict, total=False):
    name: str
    category: str
    commercial_use: str
    obligations: dict[str, object]
    url: str


def create_license(
    *,
    actor: Actor,
    key: str,
    name: str,
    category: str,
    commercial_use: str,
    obligations: dict[str, object] | None = None,
    url: str = "",
) -> License:
    """Add a license under its SPDX id or a ``LicenseRef-`` id."""
    with transaction.atomic():
        license_ = License(
            key=key, name=name, category=category, commercial_use=commercial_use, obligations=obligations or {}, url=url
        )
        return create_validated(actor=actor, instance=license_)


def update_license(*, actor: Actor, license_: License, changes: LicenseChanges) -> License:
    """Change a license's terms (its key is its identity and stays); a change of what governance
    reads (category, commercial use) is published."""
    with transaction.atomic():
        before = changelog.snapshot(license_)
        license_, changed = update_validated(
            actor=actor, instance=license_, changes=changes, allowed=set(LicenseChanges.__annotations__)
        )
        if changed & {"category", "commercial_use"}:
            changes_made = field_changes(before, changelog.snapshot(license_))
            events.record(actor=actor, events=[LicenseTermsChanged(license_id=license_.pk, changes=changes_made)])
        return license_


def add_license_alias(*, actor: Actor, license_: License, alias: str) -> LicenseAlias:
    """Record a name hubs use for the license; each alias names one license."""
    with transaction.atomic():
        return create_validated(actor=actor, instance=LicenseAlias(license=license_, alias=alias))


def remove_license_alias(*, actor: Actor, alias: LicenseAlias) -> None:
    """Forget an alias."""
    with transaction.atomic():
        delete_logged(actor=actor, instance=alias)
