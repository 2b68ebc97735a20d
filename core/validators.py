"""Field validators every interface shares (the API's serializers, the portal's forms, the services)."""

import unicodedata
from collections.abc import Iterable

from django.core.exceptions import ValidationError

CONTROL_CHARACTERS_MESSAGE = "control and format characters are not allowed"
LINE_BREAKS = frozenset("\n\r\t")  # what a multi-line text (a textarea) may hold besides printable text


def has_control_characters(value: str, *, allowed: Iterable[str] = ()) -> bool:
    """Control or format characters (C0, C1, DEL, bidirectional overrides...): never part of a name.
    ``allowed`` lists the characters let through all the same (e.g. ``LINE_BREAKS``)."""
    allowed = frozenset(allowed)
    return any(unicodedata.category(char) in {"Cc", "Cf"} and char not in allowed for char in value)


def no_control_characters(value: str) -> None:
    """Names and references are printable text."""
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")


def no_control_characters_but_line_breaks(value: str) -> None:
    """Multi-line text is printable text and line breaks (and tabs)."""
    if has_control_characters(value, allowed=LINE_BREAKS):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")
