"""What every portal form shares: text inputs that refuse control characters (as the API's do, with
the validators of ``core.validators``), and a service's refusal shown on the form.

A service raises ``django.core.exceptions.ValidationError``, with a dict naming the fields
(``conditions.0.value`` names a part of ``conditions``) or without one. ``show_refusal`` puts it on
the form: under the field it names, else above the form, prefixed with the name it gave.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.validators import no_control_characters, no_control_characters_but_line_breaks


def _strings(value: Any) -> Iterator[str]:
    """The strings in a cleaned value: itself, or those of a list or of JSON (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _each_string(check: Callable[[str], None]) -> Callable[[Any], None]:
    """A field validator applying ``check`` to each string of the value (a list field's items too)."""

    def validate(value: Any) -> None:
        for text in _strings(value):
            check(text)

    return validate


_SINGLE_LINE = _each_string(no_control_characters)
_MULTI_LINE = _each_string(no_control_characters_but_line_breaks)  # a textarea's, and JSON's strings


class PrintableForm(forms.BaseForm):
    """Mix in before a form class: each of its text fields refuses control and format characters
    (a multi-line one takes line breaks and tabs), so that no input reaches a service, or the
    database, with a NUL byte or a bidirectional override in it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):  # a JSONField is one
                multiline = isinstance(field, forms.JSONField) or isinstance(field.widget, forms.Textarea)
                field.validators.append(_MULTI_LINE if multiline else _SINGLE_LINE)


def refusal_messages(refusal: ValidationError) -> dict[str, list[str]]:
    """A service's refusal as {the name it gives: its messages} (``NON_FIELD_ERRORS`` for none)."""
    if hasattr(refusal, "error_dict"):
        return {name: [m for error in errors for m in error.messages] for name, errors in refusal.error_dict.items()}
    return {NON_FIELD_ERRORS: refusal.messages}


def refusal_text(refusal: ValidationError) -> str:
    """A service's refusal in one line, each message after the name it gives (``name: message``)."""
    return "; ".join(
        " ".join(messages) if name == NON_FIELD_ERRORS else f"{name}: {' '.join(messages)}"
        for name, messages in refusal_messages(refusal).items()
    )


def show_refusal(form: forms.BaseForm, refusal: ValidationError, *, renamed: Mapping[str, str] | None = None) -> None:
    """Put a service's refusal on ``form``: on the field it names (``renamed`` maps the service's
    names to the form's; ``conditions.0.value`` goes on ``conditions``, saying which part), else
    above the form, prefixed with the name."""
    for name, messages in refusal_messages(refusal).items():
        field = (renamed or {}).get(name, name)
        head = field.split(".")[0]
        if name == NON_FIELD_ERRORS:
            form.add_error(None, messages)
        elif head in form.fields:
            form.add_error(head, messages if field == head else [f"{field}: {message}" for message in messages])
        else:
            form.add_error(None, [f"{name}: {message}" for message in messages])
