"""The change log: every service records each object it changes, with its actor and request id."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict

from core.bulk_insert import append_rows
from core.models import ChangeLogEntry
from core.request_context import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person, an API token, or a named part of the system."""

    kind: str
    id: str
    name: str

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind="user", id=str(user.pk), name=user.get_username())

    @classmethod
    def system(cls, name: str) -> "Actor":
        """A named system principal, e.g. ``Actor.system("refresh")``."""
        return cls(kind="system", id="", name=f"system:{name}")


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The object's stored fields as JSON-ready values (foreign keys as ids, files as their stored
    names), without the ones its model names in ``CHANGELOG_EXCLUDE`` (bookkeeping such as locks, or
    raw copies of upstream data)."""
    excluded = getattr(instance, "CHANGELOG_EXCLUDE", ())
    fields = [field.name for field in instance._meta.concrete_fields if field.name not in excluded]
    values = {
        name: (value.name or "") if isinstance(value, FieldFile) else value
        for name, value in model_to_dict(instance, fields=fields).items()
    }
    values["id"] = instance.pk
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def entry(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    message: str = "",
) -> ChangeLogEntry:
    """An unsaved row; ``record`` and ``record_many`` save them."""
    return ChangeLogEntry(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        request_id=current_request_id(),
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:300],
        before=before,
        after=after,
        message=message,
    )


def record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> ChangeLogEntry:
    """Write one change-log row (call it inside the service's transaction)."""
    row = entry(actor=actor, action=action, instance=instance, before=before, after=after, message=message)
    row.save()
    return row


def creations(*, actor: Actor, instances: Iterable[models.Model], message: str = "") -> list[ChangeLogEntry]:
    """Unsaved rows logging the creation of each instance (for ``record_many`` after a bulk create)."""
    return [
        entry(actor=actor, action="create", instance=instance, before=None, after=snapshot(instance), message=message)
        for instance in instances
    ]


def update(*, actor: Actor, instance: models.Model, before: dict[str, Any], message: str = "") -> ChangeLogEntry:
    """An unsaved row logging a change of ``instance`` from its ``before`` snapshot to its state now."""
    return entry(
        actor=actor, action="update", instance=instance, before=before, after=snapshot(instance), message=message
    )


def deletions(*, actor: Actor, instances: Iterable[models.Model], message: str = "") -> list[ChangeLogEntry]:
    """Unsaved rows logging the deletion of each instance (call before deleting them)."""
    return [
        entry(actor=actor, action="delete", instance=instance, before=snapshot(instance), after=None, message=message)
        for instance in instances
    ]


def record_many(rows: list[ChangeLogEntry]) -> None:
    """Write many rows at once (bulk work and recomputations that touch many objects)."""
    append_rows(rows)
