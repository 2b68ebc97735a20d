"""Field validators of the inventory."""

import re

import pycountry
from django.core.exceptions import ValidationError

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
    """``namespace/name``, without spaces or further slashes."""
    parts = value.split("/")
    if len(parts) != 2 or not all(parts) or any(character.isspace() for character in value):
        raise ValidationError(f"{value!r} is not of the form namespace/name")


def validate_commit_sha(value: str) -> None:
    """A full 40-character hexadecimal commit sha."""
    if not _SHA1.fullmatch(value):
        raise ValidationError(f"{value!r} is not a 40-character hexadecimal commit sha")
