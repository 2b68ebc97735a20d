"""People's roles and API tokens, for admins.

People are added through ``core.access.create_person`` and their roles and teams set through
``core.access.set_user_access`` (refused for a superuser: always an admin), each role read with
``core.access.role_of``; tokens are issued and revoked through ``core.tokens``. A token's secret is
shown once, on the page that answers its creation, and is never stored (only its digest is).
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from core.access import Capability, create_person, role_of, set_user_access
from core.models import ApiToken, Role
from core.tokens import issue_token, revoke_token
from portal.forms import PrintableForm, show_refusal
from portal.views.base import PortalView

ROLE_CHOICES = forms.Select(choices=Role.choices)


class AccessForm(PrintableForm, forms.Form):
    """A person's role and team (a team limits an editor to that team's models)."""

    # Plain text with a select to pick from: the access record's choices decide what is valid.
    role = forms.CharField(widget=ROLE_CHOICES)
    team = forms.CharField(required=False, max_length=100)


class NewPersonForm(PrintableForm, forms.Form):
    """A new person; ``core.access.create_person`` checks the username, the password (Django's
    password validators) and the role. The form checks only that the password was typed twice alike."""

    username = forms.CharField(max_length=150)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput, help_text="the same password, to be sure"
    )
    role = forms.CharField(widget=ROLE_CHOICES, initial=Role.VIEWER)
    team = forms.CharField(required=False, max_length=100)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "password1" in cleaned and "password2" in cleaned and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "the two passwords differ")
        return cleaned


class TokenForm(PrintableForm, forms.Form):
    """A new API token; ``core.tokens.issue_token`` validates it (unique name, known role)."""

    name = forms.CharField(max_length=100)
    role = forms.CharField(widget=ROLE_CHOICES, initial=Role.VIEWER)
    team = forms.CharField(required=False, max_length=100)
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, label="Expires in (days)", help_text="empty: never expires"
    )


def _people() -> list[Any]:
    users = get_user_model().objects.select_related("access").order_by("username", "id")
    rows = []
    for user in users:
        access = getattr(user, "access", None)
        role = role_of(user, access)
        rows.append({"user": user, "role": role, "team": access.team if access else "", "superuser": user.is_superuser})
    return rows


class PeopleView(PortalView):
    """Everyone who may sign in, with their role and team (who holds which role is for admins)."""

    capabilities = {"get": Capability.ADMINISTER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return people_page(request)


def people_page(
    request: HttpRequest,
    *,
    new_person: NewPersonForm | None = None,
    failed: tuple[int, AccessForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = _people()
    for row in rows:
        if failed and failed[0] == row["user"].pk:
            row["form"] = failed[1]
        else:
            row["form"] = AccessForm(initial={"role": row["role"], "team": row["team"]}, prefix=f"p{row['user'].pk}")
    context = {"people": rows, "new_person": new_person or NewPersonForm(prefix="new")}
    return render(request, "portal/people/people.html", context, status=status)


class PersonView(PortalView):
    """Set a person's role and team."""

    capabilities = {"get": Capability.ADMINISTER, "post": Capability.ADMINISTER}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return HttpResponseRedirect(reverse("portal:people") + f"#person-{pk}")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = get_object_or_404(get_user_model(), pk=pk)
        form = AccessForm(request.POST, prefix=f"p{pk}")
        if form.is_valid():
            try:
                set_user_access(
                    actor=self.principal.actor,
                    user=user,
                    role=form.cleaned_data["role"],
                    team=form.cleaned_data["team"],
                )
            except ValidationError as error:
                show_refusal(form, error)
            else:
                messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']}.")
                return HttpResponseRedirect(reverse("portal:people"))
        return people_page(request, failed=(pk, form), status=400)


class NewPersonView(PortalView):
    """Add a person who signs in with a username and password, with a role and team."""

    capabilities = {"get": Capability.ADMINISTER, "post": Capability.ADMINISTER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("portal:people") + "#new-person")

    def post(self, request: HttpRequest) -> HttpResponse:
        form = NewPersonForm(request.POST, prefix="new")
        if form.is_valid():
            try:
                user = create_person(
                    actor=self.principal.actor,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    role=form.cleaned_data["role"],
                    team=form.cleaned_data["team"],
                )
            except ValidationError as error:
                show_refusal(form, error, renamed={"password": "password1"})
            else:
                messages.success(request, f"{user.get_username()} added as {form.cleaned_data['role']}.")
                return HttpResponseRedirect(reverse("portal:people"))
        return people_page(request, new_person=form, status=400)


def tokens_page(
    request: HttpRequest, *, form: TokenForm | None = None, issued: Any = None, status: int = 200
) -> HttpResponse:
    tokens = ApiToken.objects.select_related("created_by").order_by("-created_at", "-id")
    context = {"tokens": list(tokens), "form": form or TokenForm(), "issued": issued}
    response = render(request, "portal/people/tokens.html", context, status=status)
    if issued is not None:
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


class TokensView(PortalView):
    """API tokens: the list (never a secret) and a form to issue one, whose secret is shown once."""

    capabilities = {"get": Capability.ADMINISTER, "post": Capability.ADMINISTER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return tokens_page(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                # the form's fields are issue_token's arguments: name, role, team, expires_in_days
                issued = issue_token(actor=self.principal.actor, created_by=self.principal.person, **form.cleaned_data)
            except ValidationError as error:
                show_refusal(form, error)
            else:
                # Answered directly (no redirect): the secret exists only in this response.
                return tokens_page(request, issued=issued, status=201)
        return tokens_page(request, form=form, status=400)


class TokenRevokeView(PortalView):
    """Stop a token from working, at once."""

    capabilities = {"post": Capability.ADMINISTER}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        token = revoke_token(actor=self.principal.actor, token=get_object_or_404(ApiToken, pk=pk))
        messages.success(request, f"Token {token.name} revoked.")
        return HttpResponseRedirect(reverse("portal:tokens"))


urlpatterns = [
    path("people/", PeopleView.as_view(), name="people"),
    path("people/new/", NewPersonView.as_view(), name="person-new"),
    path("people/<int:pk>/", PersonView.as_view(), name="person"),
    path("tokens/", TokensView.as_view(), name="tokens"),
    path("tokens/<int:pk>/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
]
