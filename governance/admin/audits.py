"""Django admin for audit reviews: read-only lists and pages; every change of state goes through
``governance.services`` as the signed-in person (``principal_for_user``), so the admin writes the
same change-log rows, events and audit statuses as the API, and is refused what the API refuses
(four eyes, a review already decided). Refusals are shown as messages."""

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.access import principal_for_user
from core.admin import ReadOnlyAdmin
from core.conflicts import Conflict
from governance import selectors, services
from governance.admin.common import REFUSALS, ReadOnlyInline, refusal_text, state_now_filter
from governance.forms import DecisionForm
from governance.models import AuditReview, Evidence, EvidenceKind, ReviewState

StateNowFilter = state_now_filter(
    ReviewState.choices,
    selectors.with_state,
    "Reviews by their state as of now (an approval past its expiry is expired before the schedule stores it).",
)


class EvidenceInline(ReadOnlyInline):
    """A review's evidence: links open, files download (as attachments)."""

    model = Evidence
    fields = ["kind", "title", "open", "content_type", "size", "sha256", "added_by", "added_at"]
    readonly_fields = fields

    @admin.display(description="link or file")
    def open(self, evidence: Evidence) -> str:
        if evidence.kind == EvidenceKind.FILE:
            url = reverse("admin:governance_evidence_download", args=[evidence.review_id, evidence.pk])
            return format_html('<a href="{}" download>{}</a>', url, evidence.file_name)
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', evidence.url, evidence.url)


@admin.register(AuditReview)
class AuditReviewAdmin(ReadOnlyAdmin):
    """Audit reviews, newest first; take, withdraw and decide through the services."""

    list_display = [
        "id",
        "model",
        "pinned_revision",
        "kind",
        "state_now",
        "requester_name",
        "reviewer_name",
        "requested_at",
        "decided_at",
        "expires_at",
    ]
    list_display_links = ["id", "model"]
    list_filter = ["kind", StateNowFilter]
    search_fields = ["model__upstream_id"]
    list_select_related = ["model", "revision"]
    date_hierarchy = "requested_at"
    inlines = [EvidenceInline]
    actions = ["take", "withdraw"]
    change_form_template = "admin/governance/auditreview/change_form.html"
    fields = [
        "model",
        "revision",
        "kind",
        "state_now",
        "state",
        "note",
        "follows",
        "upstream_changes",
        "requester_name",
        "requester_kind",
        "reviewer_name",
        "reviewer_kind",
        "findings",
        "condition_list",
        "requested_at",
        "taken_at",
        "decided_at",
        "expires_at",
        "closed_at",
    ]
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:review_id>/decide/", view(self.decide_view), name="governance_auditreview_decide"),
            path(
                "<int:review_id>/evidence/<int:evidence_id>/download/",
                view(self.download_view),
                name="governance_evidence_download",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        review = self.get_object(request, object_id)
        decidable = review is not None and selectors.state_of(review) == ReviewState.IN_REVIEW
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "decidable": decidable})

    @admin.display(description="revision")
    def pinned_revision(self, review: AuditReview) -> str:
        return review.revision.revision[:12] if review.revision_id else "every revision"

    @admin.display(description="state (as of now)")
    def state_now(self, review: AuditReview) -> str:
        return ReviewState(selectors.state_of(review)).label

    @admin.display(description="conditions")
    def condition_list(self, review: AuditReview) -> str:
        return "; ".join(review.conditions)

    # --- Transitions, through the services ----------------------------------------------------------

    def _each(
        self,
        request: HttpRequest,
        reviews: Iterable[AuditReview],
        service: Callable[..., AuditReview],
        done_text: str,
    ) -> None:
        """Call ``service`` for each review as the signed-in person; each refusal becomes a message."""
        principal = principal_for_user(request.user)
        done = 0
        for review in reviews:
            try:
                service(principal=principal, review=review)
            except REFUSALS as refusal:
                self.message_user(request, f"Review #{review.pk}: {refusal_text(refusal)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} review{'s' if done != 1 else ''} {done_text}", messages.SUCCESS)

    @admin.action(description="Take the selected reviews (start reviewing them)")
    def take(self, request: HttpRequest, queryset: QuerySet[AuditReview]) -> None:
        self._each(request, queryset.order_by("pk"), services.take_review, "taken")

    @admin.action(description="Withdraw the selected reviews")
    def withdraw(self, request: HttpRequest, queryset: QuerySet[AuditReview]) -> None:
        self._each(request, queryset.order_by("pk"), services.withdraw_review, "withdrawn")

    def decide_view(self, request: HttpRequest, review_id: int) -> HttpResponse:
        """A page that decides one review in progress through ``services.decide_review``."""
        review = get_object_or_404(selectors.reviews_for_listing(), pk=review_id)
        if not self.has_view_permission(request, review):
            raise PermissionDenied
        form = DecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.decide_review(principal=principal_for_user(request.user), review=review, **form.cleaned_data)
            except ValidationError as refusal:
                if hasattr(refusal, "error_dict") and set(refusal.error_dict) <= set(form.fields):
                    for field, errors in refusal.error_dict.items():
                        form.add_error(field, errors)
                else:
                    form.add_error(None, refusal_text(refusal))
            except (PermissionDenied, Conflict) as refusal:
                self.message_user(request, f"Review #{review.pk}: {refusal_text(refusal)}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:governance_auditreview_change", args=[review.pk]))
            else:
                self.message_user(request, f"Review #{review.pk} decided", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:governance_auditreview_change", args=[review.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "review": review,
            "state_now": self.state_now(review),
            "form": form,
            "title": f"Decide review #{review.pk}",
        }
        return TemplateResponse(request, "admin/governance/auditreview/decide.html", context)

    def download_view(self, request: HttpRequest, review_id: int, evidence_id: int) -> FileResponse:
        """An uploaded file, always as an attachment of type application/octet-stream (never
        rendered by the browser as what it claims to be), as the API serves it."""
        evidence = Evidence.objects.filter(review_id=review_id, pk=evidence_id, kind=EvidenceKind.FILE).first()
        if evidence is None:
            raise Http404("no such file in this review's evidence")
        if not self.has_view_permission(request, evidence.review):
            raise PermissionDenied
        try:
            opened = evidence.file.open("rb")
        except FileNotFoundError:
            raise Http404("the file of this evidence is missing from the storage") from None
        return FileResponse(
            opened,
            as_attachment=True,
            filename=evidence.file_name,
            content_type="application/octet-stream",
        )
