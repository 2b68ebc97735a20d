"""Helpers shared by the inventory's services."""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from core import changelog
from core.changelog import Actor

Instance = TypeVar("Instance", bound=models.Model)


def create_validated(*, actor: Actor, instance: Instance, message: str = "") -> Instance:
    """Validate every field and constraint (errors name the field), save, and log the creation."""
    instance.full_clean()
    instance.save()
    changelog.record(
        actor=actor, action="create", instance=instance, after=changelog.snapshot(instance), message=message
    )
    return instance


def update_validated(
    *, actor: Actor, instance: Instance, changes: Mapping[str, Any], allowed: set[str], message: str = ""
) -> tuple[Instance, set[str]]:
    """Apply ``changes`` to a locked, fresh copy of ``instance``; returns it and the fields that changed.

    Nothing is written (and nothing logged) when no value differs.
    """
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: "this field cannot be changed here" for name in sorted(unknown)})
    fresh = type(instance).objects.select_for_update().get(pk=instance.pk)
    before = changelog.snapshot(fresh)
    for name, value in changes.items():
        setattr(fresh, name, value)
    after = changelog.snapshot(fresh)
    changed = {name for name in after if after[name] != before[name]}
    if not changed:
        return fresh, changed
    fresh.full_clean()
    fresh.save()
    changelog.record_many([changelog.update(actor=actor, instance=fresh, before=before, message=message)])
    return fresh, changed


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose snapshot values differ, each as ``{"before": ..., "after": ...}`` (for events);
    the ``updated_at`` stamp is no fact."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if name != "updated_at" and before.get(name) != value
    }


def delete_logged(*, actor: Actor, instance: models.Model, message: str = "") -> None:
    """Delete ``instance`` and log what it was."""
    changelog.record_many(changelog.deletions(actor=actor, instances=[instance], message=message))
    instance.delete()
