"""The audit queue, a review's page with what its viewer may do there, and the request form.

Every write goes through ``governance.services`` as the viewer's principal: the services refuse
what the viewer may not do (``PermissionDenied`` → the 403 page with its message), input that does
not hang together (``ValidationError`` → the form again, 400, naming the field) and a transition
that someone else made first (``Conflict`` → the page with its message, 409). The page shows the
four-eyes rule before the click with the services' own predicate (``four_eyes_refusal``).
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from api.governance.uploads import EvidenceSizeLimit
from core.access import Capability
from core.conflicts import Conflict
from governance import services
from governance.filters import AuditReviewFilter
from governance.forms import DecisionForm
from governance.models import OPEN_STATES, AuditReview, ReviewKind, ReviewState
from governance.selectors import reviews_for_listing, state_of
from inventory.models import AIModel
from portal.context import principal_of
from portal.forms import PrintableForm, show_refusal
from portal.views.base import PAGE_SIZE, PortalView

OPEN, ALL = "open", "all"  # the queue's own state choices besides the reviews' states


# --- The queue ------------------------------------------------------------------------------------


class AuditQueueView(PortalView):
    """Reviews by state (as of now) and kind, newest first; open ones (requested, in review) by default."""

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state") or OPEN
        params = request.GET.copy()
        params.pop("page", None)
        if state in (OPEN, ALL):
            params.pop("state", None)
        reviews = reviews_for_listing().order_by("-requested_at", "-id")
        if state == OPEN:  # an open state never lapses, so its stored state is its state as of now
            reviews = reviews.filter(state__in=OPEN_STATES)
        chosen = AuditReviewFilter(params, queryset=reviews)
        valid = chosen.is_valid()
        page = Paginator(chosen.qs if valid else reviews.none(), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [{"review": review, "state": state_of(review)} for review in page.object_list]
        context = {
            "page": page,
            "rows": rows,
            "state": state,
            "kind": request.GET.get("kind", ""),
            "states": [(OPEN, "open (requested or in review)"), (ALL, "all"), *ReviewState.choices],
            "kinds": ReviewKind.choices,
            "errors": chosen.errors,
        }
        return TemplateResponse(request, "portal/audits/queue.html", context, status=200 if valid else 400)


# --- A review -------------------------------------------------------------------------------------


def _review(pk: int) -> AuditReview:
    return get_object_or_404(reviews_for_listing(), pk=pk)


class PortalDecisionForm(PrintableForm, DecisionForm):
    """The decision form shared with the admin, its text printable."""


class EvidenceForm(PrintableForm, forms.Form):
    """A link, or a file to upload, with a title; the service checks the link and the file."""

    url = forms.CharField(required=False, max_length=1000)
    title = forms.CharField(required=False, max_length=200)
    file = forms.FileField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not cleaned.get("file") and not cleaned.get("url"):
            self.add_error("url", "give a link, or choose a file to upload")
        return cleaned


def _decision_form(data: Any = None) -> DecisionForm:
    form = PortalDecisionForm(data)
    form.fields["expires_at"].widget.input_type = "datetime-local"
    form.fields["expires_at"].help_text = "an approval's expiry (empty: the kind's default validity)"
    return form


def render_review(
    request: HttpRequest,
    review: AuditReview,
    *,
    status: int = 200,
    decision_form: DecisionForm | None = None,
    evidence_form: EvidenceForm | None = None,
    evidence_errors: dict[str, list[str]] | None = None,
    evidence_shown: str = "",
    refusal: str = "",
) -> TemplateResponse:
    """The review's page: what it is, and each action its viewer may take (disabled with the reason
    where the four-eyes rule stands in the way)."""
    principal = principal_of(request)
    assert principal is not None  # the views calling this let only signed-in people this far
    if evidence_form is not None:
        found = evidence_form.errors.items()
        evidence_errors = {"" if name == NON_FIELD_ERRORS else name: errors for name, errors in found}
    state = state_of(review)
    is_open = state in OPEN_STATES
    evidence = [
        {
            "item": item,
            "download": reverse("audit-evidence-file", args=[review.pk, item.pk]) if item.kind == "file" else "",
        }
        for item in review.evidence.all()
    ]
    context = {
        "review": review,
        "state": state,
        "evidence": evidence,
        "four_eyes": services.four_eyes_refusal(principal, review),
        "may_take": principal.can(Capability.AUDIT) and state == ReviewState.REQUESTED,
        "may_decide": principal.can(Capability.AUDIT) and state == ReviewState.IN_REVIEW,
        "may_withdraw": is_open and services.may_withdraw(principal, review),
        "may_add_evidence": is_open and services.may_add_evidence(principal, review),
        "decision_form": decision_form or _decision_form(),
        # the evidence posted again: its errors ("" for those of no field) and values, on its form ("link" or "file")
        "evidence_errors": evidence_errors or {},
        "evidence_values": {**(evidence_form.data.dict() if evidence_form else {}), "form": evidence_shown},
        "refusal": refusal,
        "evidence_limit": settings.AUDIT_EVIDENCE_MAX_BYTES,
        "open_states": OPEN_STATES,
    }
    return TemplateResponse(request, "portal/audits/review.html", context, status=status)


class AuditView(PortalView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render_review(request, _review(pk))


class ReviewActionView(PortalView):
    """A POST that moves a review on through one service call, then back to the review's page."""

    done = ""

    def act(self, request: HttpRequest, review: AuditReview) -> None:
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = _review(pk)
        try:
            self.act(request, review)
        except Conflict as conflict:
            return render_review(request, _review(pk), status=409, refusal=str(conflict))
        messages.success(request, f"Review #{review.pk} {self.done}.")
        return HttpResponseRedirect(reverse("portal:audit", args=[review.pk]))


class TakeView(ReviewActionView):
    capabilities = {"post": Capability.AUDIT}
    done = "taken: it is in review"

    def act(self, request: HttpRequest, review: AuditReview) -> None:
        services.take_review(principal=self.principal, review=review)


class WithdrawView(ReviewActionView):
    done = "withdrawn"

    def act(self, request: HttpRequest, review: AuditReview) -> None:
        services.withdraw_review(principal=self.principal, review=review)


class DecideView(PortalView):
    capabilities = {"post": Capability.AUDIT}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = _review(pk)
        form = _decision_form(request.POST)
        if not form.is_valid():
            return render_review(request, review, status=400, decision_form=form)
        try:
            decided = services.decide_review(principal=self.principal, review=review, **form.cleaned_data)
        except ValidationError as refusal:
            show_refusal(form, refusal)
            return render_review(request, review, status=400, decision_form=form)
        except Conflict as conflict:
            return render_review(request, _review(pk), status=409, decision_form=form, refusal=str(conflict))
        messages.success(request, f"Review #{review.pk} decided: {ReviewState(decided.state).label}.")
        return HttpResponseRedirect(reverse("portal:audit", args=[review.pk]))


@method_decorator(csrf_exempt, name="dispatch")  # checked in post, once the upload limit is in place
class EvidenceView(PortalView):
    """Add a link, or a file (at most ``AUDIT_EVIDENCE_MAX_BYTES``: the API's upload limit stops
    reading a larger one, which is refused with 413 and stores nothing)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        limit = EvidenceSizeLimit.install(request)  # before anything reads the body (CSRF would)
        return csrf_protect(lambda checked: self._add(checked, pk, limit))(request)

    def _add(self, request: HttpRequest, pk: int, limit: EvidenceSizeLimit) -> HttpResponse:
        review = _review(pk)
        shown = "file" if "file" in request.FILES or limit.exceeded else "link"
        form = EvidenceForm(request.POST, request.FILES)
        if limit.exceeded:
            errors = {"file": [limit.message().removeprefix("file: ")]}
            return render_review(request, review, status=413, evidence_errors=errors, evidence_shown=shown)
        if not form.is_valid():
            return render_review(request, review, status=400, evidence_form=form, evidence_shown=shown)
        title, upload = form.cleaned_data["title"], form.cleaned_data["file"]
        try:
            if upload is not None:
                services.add_evidence_file(principal=self.principal, review=review, upload=upload, title=title)
            else:
                url = form.cleaned_data["url"]
                services.add_evidence_link(principal=self.principal, review=review, url=url, title=title)
        except ValidationError as refusal:
            show_refusal(form, refusal)
            return render_review(request, review, status=400, evidence_form=form, evidence_shown=shown)
        except Conflict as conflict:
            return render_review(request, review, status=409, refusal=str(conflict))
        messages.success(request, f"Evidence added to review #{review.pk}.")
        return HttpResponseRedirect(reverse("portal:audit", args=[review.pk]))


# --- Asking for a review --------------------------------------------------------------------------


class RequestForm(PrintableForm, forms.Form):
    """What to review; the service checks the kind and that the revision is recorded."""

    kind = forms.CharField(widget=forms.Select(choices=ReviewKind.choices))
    revision = forms.CharField(required=False, help_text="pin the review to one recorded revision")
    note = forms.CharField(widget=forms.Textarea, required=False, help_text="what should the auditor look at?")

    def __init__(self, *args: Any, model: AIModel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        recorded = model.revisions.order_by("-created_at", "-id").values_list("revision", flat=True)
        choices = [("", "every revision"), *((revision, revision) for revision in recorded)]
        self.fields["revision"].widget = forms.Select(choices=choices)


class RequestView(PortalView):
    """Anyone who reads may ask for a review (as in the API)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(AIModel, pk=pk)
        return self._page(request, model, RequestForm(model=model))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(AIModel, pk=pk)
        form = RequestForm(request.POST, model=model)
        if not form.is_valid():
            return self._page(request, model, form, status=400)
        try:
            review = services.request_review(principal=self.principal, model=model, **form.cleaned_data)
        except ValidationError as refusal:
            show_refusal(form, refusal)
            return self._page(request, model, form, status=400)
        except Conflict as conflict:
            return self._page(request, model, form, status=409, refusal=str(conflict))
        messages.success(request, f"Review #{review.pk} requested: an auditor will take it.")
        return HttpResponseRedirect(reverse("portal:audit", args=[review.pk]))

    def _page(
        self, request: HttpRequest, model: AIModel, form: RequestForm, *, status: int = 200, refusal: str = ""
    ) -> HttpResponse:
        context = {"model": model, "form": form, "refusal": refusal}
        return TemplateResponse(request, "portal/audits/request.html", context, status=status)


urlpatterns = [
    path("audits/", AuditQueueView.as_view(), name="audits"),
    path("audits/<int:pk>/", AuditView.as_view(), name="audit"),
    path("audits/<int:pk>/take/", TakeView.as_view(), name="audit-take"),
    path("audits/<int:pk>/decide/", DecideView.as_view(), name="audit-decide"),
    path("audits/<int:pk>/evidence/", EvidenceView.as_view(), name="audit-evidence"),
    path("audits/<int:pk>/withdraw/", WithdrawView.as_view(), name="audit-withdraw"),
    path("models/<int:pk>/audits/new/", RequestView.as_view(), name="audit-request"),
]
