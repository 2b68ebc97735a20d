"""Forms of governance's writes shared by the admin and the portal: they carry the input to the
services, which check that it hangs together (their errors name these fields)."""

from django import forms

from governance.models import DECISIONS, ReviewState


class DecisionForm(forms.Form):
    """An auditor's decision on one review in progress (the service checks that it hangs together)."""

    decision = forms.ChoiceField(choices=[(state, ReviewState(state).label) for state in sorted(DECISIONS)])
    findings = forms.CharField(widget=forms.Textarea, required=False, help_text="required for a rejection")
    conditions = forms.CharField(
        widget=forms.Textarea, required=False, help_text="one a line; only an approval with conditions has them"
    )
    expires_at = forms.DateTimeField(
        required=False, help_text="an approval's expiry (empty: the kind's default validity); YYYY-MM-DD HH:MM"
    )

    def clean_conditions(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["conditions"].splitlines() if line.strip()]
