"""Serial numbers and versions of BOM documents.

Every document gets a fresh ``urn:uuid`` serial number; its ``version`` is the next number of its
scope, taken in one atomic statement (an upsert that increments the scope's row and returns the new
value), so two documents of one scope built at once never share a version.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from boms.models import BomSerial


@dataclass(frozen=True)
class Numbering:
    serial: str
    version: int


def next_number(scope_key: str, spec_version: str, now: datetime | None = None) -> Numbering:
    """A new serial number and the scope's next version (1 for its first document)."""
    serial = f"urn:uuid:{uuid.uuid4()}"
    now = now or timezone.now()
    table = connection.ops.quote_name(BomSerial._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope_key, version, last_serial, spec_version, updated_at)"
            " VALUES (%s, 1, %s, %s, %s)"
            f" ON CONFLICT (scope_key) DO UPDATE SET version = {table}.version + 1,"
            " last_serial = excluded.last_serial, spec_version = excluded.spec_version,"
            " updated_at = excluded.updated_at"
            " RETURNING version",
            [scope_key, serial, spec_version, now],
        )
        (version,) = cursor.fetchone()
    return Numbering(serial=serial, version=version)
