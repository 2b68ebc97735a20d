"""Policy conditions: each subject with the operators and values it takes, checking a policy's
conditions (errors name ``conditions.<n>.<field>``), and evaluating one against a model's facts.

A condition is ``{"subject", "operator", "value"}``, plus ``"kind"`` (a review kind) for
``audit_status`` and ``days_since_approval``. The facts are ``governance.facts.facts_of``.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from governance.models import ReviewKind
from inventory.models import UNKNOWN_COUNTRY, AuditStatus, CommercialUse, License, LicenseCategory, RefreshState, Source
from inventory.validators import validate_country_code

EQUALITY = frozenset({"is", "is_not", "in", "not_in"})
FLAG = frozenset({"is", "is_not"})
NUMBER = frozenset({"gt", "lt"})
SET = frozenset({"contains_any"})
LISTS = frozenset({"in", "not_in", "contains_any"})  # operators that take a list of values


@dataclass(frozen=True)
class Subject:
    """What a condition may ask about a fact: its operators, how one value is checked (returns the
    value as stored, or raises ValueError with why), whether it takes a review ``kind``, and whether
    its truth changes with time alone (the scheduled sweep re-evaluates those)."""

    operators: frozenset[str]
    check_value: Callable[[Any], Any]
    takes_kind: bool = False
    time_dependent: bool = False


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return check


def _country(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a country code (ISO 3166-1 alpha-2) or 'unknown'")
    if value.lower() == UNKNOWN_COUNTRY:
        return UNKNOWN_COUNTRY
    try:
        validate_country_code(value.upper())
    except ValidationError:
        raise ValueError(f"{value!r} is no ISO 3166-1 alpha-2 country code (or 'unknown')") from None
    return value.upper()


def _license(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a license key of the catalogue")
    found = License.objects.filter(key__iexact=value).values_list("key", flat=True).first()
    if found is None:
        raise ValueError(f"{value!r} is not in the license catalogue")
    return found


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError("a number of at least 0")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValueError("a non-empty string of at most 100 characters")
    return value


SUBJECTS: dict[str, Subject] = {
    "publisher_country": Subject(EQUALITY, _country),
    "effective_origin": Subject(SET, _country),
    "license": Subject(EQUALITY, _license),
    "license_category": Subject(EQUALITY, _choice(LicenseCategory.values)),
    "commercial_use": Subject(EQUALITY, _choice(CommercialUse.values)),
    "license_unknown": Subject(FLAG, _flag),
    "license_mismatch": Subject(FLAG, _flag),
    "audit_status": Subject(EQUALITY, _choice(AuditStatus.values), takes_kind=True, time_dependent=True),
    "days_since_approval": Subject(NUMBER, _number, takes_kind=True, time_dependent=True),
    "pickle_artifacts": Subject(FLAG, _flag),
    "scan_issues": Subject(NUMBER | {"is"}, _number),
    "scan_not_done": Subject(FLAG, _flag),
    "origin_unknown": Subject(FLAG, _flag),
    "metadata_age_days": Subject(NUMBER, _number, time_dependent=True),
    "gated": Subject(FLAG, _flag),
    "refresh_state": Subject(EQUALITY, _choice(RefreshState.values)),
    "source": Subject(EQUALITY, _choice(Source.values)),
    "team": Subject(EQUALITY, _text),
}
OPERATORS = ("is", "is_not", "in", "not_in", "contains_any", "gt", "lt")


def checked_conditions(conditions: Any, *, field_name: str = "conditions") -> list[dict[str, Any]]:
    """The conditions as they are stored (values normalized: country codes upper case, license keys
    as the catalogue spells them); ValidationError naming ``conditions.<n>.<field>`` otherwise."""
    if not isinstance(conditions, list) or not conditions:
        raise ValidationError({field_name: "a list of at least one condition"})
    errors: dict[str, str] = {}
    stored = []
    for index, condition in enumerate(conditions):
        path = f"{field_name}.{index}"
        try:
            stored.append(_checked(condition, path))
        except ValidationError as error:
            errors.update({name: " ".join(messages) for name, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return stored


def _checked(condition: Any, path: str) -> dict[str, Any]:
    if not isinstance(condition, dict):
        raise ValidationError({path: 'an object {"subject", "operator", "value"}'})
    unknown = sorted(set(condition) - {"subject", "operator", "value", "kind"})
    if unknown:
        raise ValidationError({f"{path}.{name}": "unknown field" for name in unknown})
    subject = SUBJECTS.get(condition.get("subject"))  # type: ignore[arg-type]
    if subject is None:
        raise ValidationError({f"{path}.subject": f"one of {', '.join(SUBJECTS)}"})
    operator = condition.get("operator")
    if operator not in subject.operators:
        raise ValidationError(
            {f"{path}.operator": f"{condition['subject']} takes {', '.join(sorted(subject.operators))}"}
        )
    stored = {"subject": condition["subject"], "operator": operator}
    if "kind" in condition:
        if not subject.takes_kind:
            raise ValidationError({f"{path}.kind": f"{condition['subject']} takes no review kind"})
        if condition["kind"] not in ReviewKind.values:
            raise ValidationError({f"{path}.kind": f"one of {', '.join(ReviewKind.values)}"})
        stored["kind"] = condition["kind"]
    if "value" not in condition:
        raise ValidationError({f"{path}.value": "this field is required"})
    value = condition["value"]
    try:
        if operator in LISTS:
            if not isinstance(value, list) or not value:
                raise ValueError("a non-empty list")
            stored["value"] = [subject.check_value(item) for item in value]
        else:
            stored["value"] = subject.check_value(value)
    except ValueError as error:
        raise ValidationError({f"{path}.value": str(error)}) from None
    return stored


def fact_key(condition: Mapping[str, Any]) -> str:
    """Where a condition's fact is in the facts: ``audit_status`` or ``audit_status:security``."""
    kind = condition.get("kind")
    return f"{condition['subject']}:{kind}" if kind else condition["subject"]


def holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether the condition is true of the facts. A number that is not known (never approved,
    never refreshed) counts as endless: ``gt`` holds, ``lt`` does not."""
    fact = facts[fact_key(condition)]
    operator, value = condition["operator"], condition["value"]
    if operator == "is":
        return fact == value
    if operator == "is_not":
        return fact != value
    if operator == "in":
        return fact in value
    if operator == "not_in":
        return fact not in value
    if operator == "contains_any":
        return bool(set(fact) & set(value))
    if fact is None:
        return operator == "gt"
    return fact > value if operator == "gt" else fact < value


def describe(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """The condition and the fact it met, for a violation's message or a gate reason."""
    key = fact_key(condition)
    return f"{key} {condition['operator']} {condition['value']!r} (it is {facts[key]!r})"
