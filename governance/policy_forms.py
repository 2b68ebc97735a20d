"""Django forms of policies and violations, shared by the admin and the portal: a policy's
definition (checked and written only by ``governance.policies``) and a waiver of violations."""

import json
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.changelog import Actor
from governance import policies
from governance.conditions import SUBJECTS
from governance.models import Policy

# --- Policies -------------------------------------------------------------------------------------

CONDITION_KEYS = ("subject", "kind", "operator", "value")


def _readable(condition: Any) -> Any:
    """A condition with its keys in the order they read (the database keeps them in its own)."""
    if not isinstance(condition, dict):
        return condition
    keys = [key for key in CONDITION_KEYS if key in condition] + sorted(set(condition) - set(CONDITION_KEYS))
    return {key: condition[key] for key in keys}


class ConditionsField(forms.JSONField):
    """The conditions as indented JSON."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        value = [_readable(condition) for condition in value] if isinstance(value, list) else value
        return json.dumps(value, indent=2, ensure_ascii=False)


class NamesField(forms.CharField):
    """A list of names, comma separated (empty: everywhere)."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return [name.strip() for name in (super().to_python(value) or "").split(",") if name.strip()]


CONDITIONS_HELP = (
    'A JSON list of {"subject", "operator", "value"} (plus "kind", a review kind, for audit_status and '
    "days_since_approval), combined by the match. Subjects and their operators: "
    + "; ".join(f"{name} ({', '.join(sorted(subject.operators))})" for name, subject in SUBJECTS.items())
)


class PolicyForm(forms.ModelForm):
    """A policy's definition. It is checked as the service checks it (its errors, such as
    ``conditions.0.value``, shown on the field they concern) and written only through
    ``create_policy`` / ``update_policy`` (``write``), never by saving the instance."""

    environments = NamesField(required=False, help_text="comma separated, e.g. prod, staging; empty: every one")
    tags = NamesField(required=False, help_text="model tags, comma separated; empty: every model")
    teams = NamesField(required=False, help_text="teams, comma separated; empty: every team")
    conditions = ConditionsField(
        initial=list, widget=forms.Textarea(attrs={"rows": 14, "cols": 90}), help_text=CONDITIONS_HELP
    )

    class Meta:
        model = Policy
        fields = list(policies.DEFINITION)

    def definition(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in policies.DEFINITION}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not any(name in self.errors for name in policies.DEFINITION):
            try:
                # With no models, a dry run only checks the definition, exactly as the service does on save.
                policies.dry_run(definition=self.definition(), model_ids=())
            except ValidationError as refusal:
                self.add_refusal(refusal)
        return cleaned

    def add_refusal(self, refusal: ValidationError) -> None:
        """The service's errors on the fields they name (``conditions.0.value`` on ``conditions``)."""
        if not hasattr(refusal, "error_dict"):
            self.add_error(None, refusal)
            return
        for key, errors in refusal.message_dict.items():
            field = key.split(".")[0]
            if field in self.fields:
                self.add_error(field, [error if key == field else f"{key}: {error}" for error in errors])
            else:
                self.add_error(None, [f"{key}: {error}" for error in errors])

    def write(self, *, actor: Actor) -> Policy:
        """Create the policy (version 1) or update it (a new version when anything differs)."""
        if self.instance.pk is None:
            return policies.create_policy(actor=actor, definition=self.definition())
        return policies.update_policy(actor=actor, policy=self.instance, changes=self.definition())


# --- Violations -----------------------------------------------------------------------------------


class WaiveForm(forms.Form):
    """Why a violation is accepted, and until when."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), strip=True)
    until = forms.DateTimeField(help_text="when the waiver ends and the violation opens again; YYYY-MM-DD HH:MM")

    def clean_until(self) -> datetime:
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("must be in the future")
        return until
