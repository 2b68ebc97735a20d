"""Appending many rows fast: PostgreSQL's COPY where Django's ``bulk_create`` spends its time on
each field of each row (a batch of 60,000 change-log rows: about 7 s with ``bulk_create``).

For append-only records whose ids the caller does not need back (change-log rows, events
nobody subscribes to). Other databases get ``bulk_create``.
"""

import json
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone

# Below this many rows COPY saves nothing worth a second code path's round trips.
_COPY_FROM = 200


def append_rows(rows: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model; their ids stay unset on PostgreSQL."""
    if not rows:
        return
    model = type(rows[0])
    if connection.vendor != "postgresql" or len(rows) < _COPY_FROM:
        model.objects.bulk_create(rows)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([_value(field, row, now) for field in fields])


def _value(field: models.Field, row: models.Model, now: object) -> object:
    if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
        return now
    value = getattr(row, field.attname)
    if isinstance(field, models.JSONField) and value is not None:
        return json.dumps(value, cls=field.encoder)  # as bulk_create would
    return value
