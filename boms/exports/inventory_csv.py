"""The CSV inventory of a scope: one row per model (at the revision the scope has it: its deployed
revision for a system or an environment, else its latest), in the columns of ``COLUMNS``.

Models are loaded in chunks through ``boms.loading.load_chunk`` (a fixed number of queries per chunk)
plus one query per chunk for the deployments, so 100,000 models cost a few hundred queries. Every
text cell goes through ``governance.exports.cell`` (a cell a spreadsheet would read as a formula is
prefixed with ``'``); lists are joined with ``; ``.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils import timezone

from boms.documents import CHUNK_SIZE, Scope, scope_entries
from boms.loading import Entry, load_chunk
from governance.exports import cell
from inventory.models import Deployment
from inventory.purls import build_purl

COLUMNS = (
    "model", "purl", "publisher", "country", "effective_origin", "license", "inherited_licenses",
    "audit_status", "audit_expires_at", "open_violations", "deployments",
)  # fmt: skip
SEPARATOR = "; "

Progress = Callable[[int, int], None]


def _deployments(model_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    active = Deployment.objects.filter(active=True, revision__model_id__in=model_ids)
    for model_id, system, environment in active.values_list("revision__model_id", "system", "environment"):
        found[model_id].add(f"{system}/{environment}")
    return {model_id: sorted(places) for model_id, places in found.items()}


def model_count(scope: Scope) -> int:
    """The rows ``inventory_rows`` writes for the scope."""
    return len(_members(scope))


def _members(scope: Scope) -> list[Entry]:
    members, _ = scope_entries(scope)
    unique: dict[tuple[int, int | None], Entry] = {}
    for entry in members:
        unique.setdefault((entry.model_id, entry.revision_id), entry)
    return list(unique.values())


def inventory_rows(
    scope: Scope,
    *,
    now: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> Iterator[list[str]]:
    """The header, then one row per model of the scope; ``progress(done, total)`` after each chunk."""
    now = now or timezone.now()
    entries = _members(scope)
    total = len(entries)
    yield list(COLUMNS)
    if progress:
        progress(0, total)
    for start in range(0, total, chunk_size):
        part = entries[start : start + chunk_size]
        chunk = load_chunk(part, now)
        places = _deployments(sorted({entry.model_id for entry in part}))
        for entry, facts in zip(part, chunk.models, strict=True):
            row = facts.row
            audit = facts.audit
            yield [
                cell(f"{row['source']}:{row['upstream_id']}"),
                cell(build_purl(source=row["source"], upstream_id=row["upstream_id"], revision=facts.revision)),
                cell(row["publisher__name"]),
                cell(row["publisher__country"]),
                cell(SEPARATOR.join(facts.origin)),
                cell(row["declared_license__key"]),
                cell(SEPARATOR.join(facts.inherited_licenses)),
                cell(audit.status if audit else ""),
                audit.expires_at.isoformat() if audit and audit.expires_at else "",
                cell(SEPARATOR.join(facts.open_policies)),
                cell(SEPARATOR.join(places.get(entry.model_id, []))),
            ]
        if progress:
            progress(min(start + chunk_size, total), total)
