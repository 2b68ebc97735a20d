"""Input checks shared by the API's serializers."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from inventory.purls import ModelReference, parse_reference
from inventory.validators import has_control_characters


def no_control_characters(value: str) -> None:
    """Names and references are printable text."""
    if has_control_characters(value):
        raise serializers.ValidationError("control and format characters are not allowed")


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: "unknown field" for name in unknown})
        return super().to_internal_value(data)


def text(max_length: int, **options: object) -> serializers.CharField:
    """A bounded, printable string field."""
    return serializers.CharField(max_length=max_length, validators=[no_control_characters], **options)


def model_reference(value: str) -> ModelReference:
    """A purl or ``<source>:<namespace>/<name>[@<revision>]``, as a serializer error when wrong."""
    try:
        return parse_reference(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None
