"""Field validators of the inventory."""

import math
import re

import pycountry
from django.core.exceptions import ValidationError

from core.validators import has_control_characters

_SPDX_ID = re.compile(r"[A-Za-z0-9.+-]+")
_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")
_SHA1 = re.compile(r"[0-9a-f]{40}")


def validate_country_code(value: str) -> None:
    """An ISO 3166-1 alpha-2 code that exists (empty means unknown and is allowed)."""
    if value and (value != value.upper() or pycountry.countries.get(alpha_2=value) is None):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, US, FR)")


def validate_license_key(value: str) -> None:
    """An SPDX license id, or ``LicenseRef-`` followed by letters, digits, dots and hyphens."""
    if value.startswith("LicenseRef-"):
        if not _LICENSE_REF.fullmatch(value):
            raise ValidationError(f"{value!r}: a LicenseRef id holds only letters, digits, '.' and '-'")
    elif not _SPDX_ID.fullmatch(value):
        raise ValidationError(f"{value!r} is neither an SPDX license id nor a LicenseRef- id")


def validate_upstream_id(value: str) -> None:
    """``namespace/name``, without spaces, control characters or further slashes."""
    parts = value.split("/")
    if len(parts) != 2 or not all(parts) or any(character.isspace() for character in value):
        raise ValidationError(f"{value!r} is not of the form namespace/name")
    if has_control_characters(value):
        raise ValidationError("model ids must not contain control characters")


def validate_tags(value: object) -> None:
    """A list of strings."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationError("tags must be a list of strings")


def validate_commit_sha(value: str) -> None:
    """A full 40-character hexadecimal commit sha."""
    if not _SHA1.fullmatch(value):
        raise ValidationError(f"{value!r} is not a 40-character hexadecimal commit sha")


def validate_git_blob_id(value: str) -> None:
    """A git blob id (the sha1 of ``blob <size>\\0<content>``): 40 lowercase hexadecimal digits."""
    if value and not _SHA1.fullmatch(value):
        raise ValidationError(f"{value!r} is not a git blob id (40 lowercase hexadecimal digits)")


_OBLIGATION_TYPES: dict[str, type] = {
    "attribution": str,
    "user_threshold": int,
    "revenue_threshold_usd": int,
    "territorial_exclusions": list,
    "use_restrictions": list,
}


def validate_obligations(value: object) -> None:
    """A license's key obligations: an object with only the known keys, each of its type.

    ``attribution``: text that must be displayed; ``user_threshold``: monthly active users above
    which a separate license is needed; ``revenue_threshold_usd``: likewise for annual revenue;
    ``territorial_exclusions``: where the license does not apply; ``use_restrictions``: short phrases.
    """
    if not isinstance(value, dict):
        raise ValidationError("obligations must be an object")
    for key, item in value.items():
        expected = _OBLIGATION_TYPES.get(key)
        if expected is None:
            raise ValidationError(f"unknown obligation {key!r}; known: {', '.join(_OBLIGATION_TYPES)}")
        if not isinstance(item, expected) or isinstance(item, bool):
            raise ValidationError(f"obligation {key!r} must be of type {expected.__name__}")
        if expected is list and not all(isinstance(entry, str) for entry in item):
            raise ValidationError(f"obligation {key!r} must list strings")


def validate_datasets(value: object) -> None:
    """A model's training data as its card names it: a list of ``{"source": "huggingface", "id": "<dataset id>"}``
    (``"source": "bom"`` for a dataset an ingested BOM names by its name only)."""
    if not isinstance(value, list):
        raise ValidationError("datasets must be a list")
    for entry in value:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"source", "id"}
            or entry["source"] not in ("huggingface", "bom")
            or not isinstance(entry["id"], str)
            or not entry["id"].strip()
            or has_control_characters(entry["id"])
        ):
            raise ValidationError(
                "datasets: each entry must be {'source': 'huggingface' or 'bom', 'id': '<dataset id>'}, "
                f"not {entry!r}"
            )


_EVALUATION_KEYS = {"task", "dataset", "dataset_name", "metric", "value", "verified"}


def validate_evaluation_results(value: object) -> None:
    """A model's reported evaluation results, one entry per metric: ``task``, ``dataset`` (hub id or
    name), ``dataset_name`` and ``metric`` strings, ``value`` a number or a string, ``verified`` a
    boolean or null (the card did not say)."""
    if not isinstance(value, list):
        raise ValidationError("evaluation_results must be a list")
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != _EVALUATION_KEYS:
            raise ValidationError(
                "evaluation_results: each entry has exactly the keys "
                f"{', '.join(sorted(_EVALUATION_KEYS))}; got {entry!r}"
            )
        for key in ("task", "dataset", "dataset_name", "metric"):
            if not isinstance(entry[key], str):
                raise ValidationError(f"evaluation_results: {key!r} must be a string, not {entry[key]!r}")
        if not entry["metric"].strip():
            raise ValidationError("evaluation_results: 'metric' must not be empty")
        score = entry["value"]
        if isinstance(score, bool) or not isinstance(score, (int, float, str)):
            raise ValidationError(f"evaluation_results: 'value' must be a number or a string, not {score!r}")
        if isinstance(score, float) and not math.isfinite(score):
            raise ValidationError("evaluation_results: 'value' must be a finite number")
        if entry["verified"] is not None and not isinstance(entry["verified"], bool):
            raise ValidationError(
                f"evaluation_results: 'verified' must be true, false or null, not {entry['verified']!r}"
            )
