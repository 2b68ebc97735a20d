"""Gate decisions as rows for a CSV export, one shape for the API and the admin so auditors get the
same columns from both.

``decision_rows`` yields the header (``COLUMNS``), then one row per decision: the same columns and
cells as ``GET /api/v1/gate-decisions/export/``. A cell that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: the reference and system are
whatever the pipeline sent) is prefixed with ``'``. Write them with
``csv.writer(...).writerows(decision_rows(decisions))``; no query per row.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from governance.models import GateDecision

COLUMNS = (
    "id", "time", "actor", "reference", "model_id", "revision", "environment", "system", "decision", "reasons",
    "policy_versions", "request_id",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def decision_rows(decisions: Iterable[GateDecision]) -> Iterator[list[object]]:
    """The header, then each decision: its reasons as ``[action] policy: message`` (``gate`` for the
    gate's own, `` (waived)`` after a waived one) joined by ``; ``, its policy versions as
    ``name vN`` joined by ``; ``."""
    yield list(COLUMNS)
    for decision in decisions:
        versions = "; ".join(f"{name} v{version}" for name, version in sorted(decision.policy_versions.items()))
        yield [
            decision.pk,
            decision.created_at.isoformat(),
            cell(decision.actor_name),
            cell(decision.reference),
            decision.model_id or "",
            cell(decision.revision),
            cell(decision.environment),
            cell(decision.system),
            decision.decision,
            cell(reasons_text(decision.reasons)),
            cell(versions),
            cell(decision.request_id),
        ]


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    described = []
    for reason in reasons:
        waived = " (waived)" if reason["waived"] else ""
        described.append(f"[{reason['action']}] {reason['policy'] or 'gate'}: {reason['message']}{waived}")
    return "; ".join(described)


def cell(value: object) -> str:
    """Text a spreadsheet opening the export runs no formula from: one starting like a formula is quoted."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file whose ``write`` hands back what it is given: the csv writer's output, line by line."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as a CSV line, one at a time: the body of a streamed export."""
    writer = csv.writer(_Echo())
    return (writer.writerow(row) for row in rows)
