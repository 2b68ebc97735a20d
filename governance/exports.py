"""Gate decisions as rows for a CSV export, shared by the API and the admin so both give auditors
the same columns.

``decision_rows`` yields the header, then one row per decision, every cell a string. A cell that a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return: the reference and system are whatever the pipeline sent) is prefixed with ``'``. Pass the
decisions with ``select_related("model")`` so the model's name costs no query per row; write them
with ``csv.writer(...).writerows(decision_rows(decisions))``.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from governance.models import GateDecision

COLUMNS = (
    "id",
    "created_at",
    "decision",
    "reference",
    "model",
    "revision",
    "environment",
    "system",
    "asked_by",
    "request_id",
    "reasons",
    "policy_versions",
    "override",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def decision_rows(decisions: Iterable[GateDecision]) -> Iterator[list[str]]:
    """The header (``COLUMNS``), then each decision: its reasons as ``action policy: message`` joined
    by `` | `` (``(waived)`` after a waived one), its policy versions as ``name=version``."""
    yield list(COLUMNS)
    for decision in decisions:
        yield [
            _cell(value)
            for value in (
                decision.pk,
                decision.created_at.isoformat(),
                decision.decision,
                decision.reference,
                str(decision.model) if decision.model_id else "",
                decision.revision,
                decision.environment,
                decision.system,
                decision.actor_name,
                decision.request_id,
                " | ".join(_reason(reason) for reason in decision.reasons),
                " ".join(f"{name}={version}" for name, version in sorted(decision.policy_versions.items())),
                decision.override_id or "",
            )
        ]


def _reason(reason: dict[str, Any]) -> str:
    policy = f" {reason['policy']}" if reason.get("policy") else ""
    waived = " (waived)" if reason.get("waived") else ""
    return f"{reason['action']}{policy}: {reason['message']}{waived}"


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
