"""Input checks shared by the API's serializers."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.validators import no_control_characters
from inventory.purls import ModelReference, parse_reference

# The JSON types each kind of field takes. DRF would coerce (5 to "5", "5" to 5, "yes" to true); a JSON
# API takes a value only as its schema types it.
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ListField, (list,), "a list"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.RelatedField, (str,), "a string"),
)


def json_type_error(field: serializers.Field, value: object) -> str | None:
    """Why ``value`` is not of the JSON type ``field`` takes (null is the field's own business)."""
    if value is None:
        return None
    for kind, types, name in _JSON_TYPES:
        if isinstance(field, kind):
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                return f"must be {name}"
            if isinstance(field, serializers.ListField):
                errors = (json_type_error(field.child, item) for item in value)
                return next((f"item {index} {error}" for index, error in enumerate(errors) if error), None)
            return None
    return None


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently ignoring them, and values of another JSON type."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: "unknown field" for name in unknown})
            mistyped = {name: json_type_error(self.fields[name], value) for name, value in data.items()}
            if any(mistyped.values()):
                raise serializers.ValidationError({name: error for name, error in mistyped.items() if error})
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
