"""Input checks shared by the API's serializers."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from inventory.purls import ModelReference, parse_reference


def no_control_characters(value: str) -> None:
    """Names and references are printable text."""
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise serializers.ValidationError("control characters are not allowed")


def text(max_length: int, **options: object) -> serializers.CharField:
    """A bounded, printable string field."""
    return serializers.CharField(max_length=max_length, validators=[no_control_characters], **options)


def model_reference(value: str) -> ModelReference:
    """A purl or ``<source>:<namespace>/<name>[@<revision>]``, as a serializer error when wrong."""
    try:
        return parse_reference(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None
