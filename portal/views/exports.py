"""Compliance exports: the schedules (what, when, retention, last and next run), each one's run on
demand (its job's page follows the progress), the files runs stored with their download and
detached-signature links, and how to verify a file with the public key and a standard tool.

Everything goes through ``boms.exports.services``, as the API's routes do: reading (the page, the
files, their signatures, the public key) is anyone's who reads; adding, changing and running
schedules is an admin's (``Capability.ADMINISTER``; the service refuses anyone else too).
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from api.boms.exports import ExportFileFilter
from boms.export_models import ExportEvery, ExportFile, ExportFormat, ExportSchedule, ExportScopeKind
from boms.exports import services
from boms.exports.signing import SigningKeyInvalid, SigningKeyMissing
from boms.validation import SPEC_VERSIONS
from core.access import Capability
from portal.forms import PrintableForm, show_refusal
from portal.views.base import PAGE_SIZE, PortalView

PUBLIC_KEY_FILENAME = "export-signing-key.pem"  # as the API's public-key route names it
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def verify_command(filename: str) -> str:
    """The standard tool's check of a file against its signature (docs/boms.md, "how to verify one")."""
    return f"openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY_FILENAME} -rawin -in {filename} -sigfile {filename}.sig"


class ScheduleForm(PrintableForm, forms.Form):
    """A schedule's fields, as the API takes them; the rules across them are the service's."""

    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=ExportScopeKind.choices)
    scope_name = forms.CharField(
        max_length=100,
        required=False,
        label="Scope name",
        help_text="the system, team or environment (none for the organization)",
    )
    format = forms.ChoiceField(choices=ExportFormat.choices)
    spec_version = forms.ChoiceField(
        choices=[(version, version) for version in SPEC_VERSIONS],
        label="CycloneDX version",
        help_text="ignored for CSV",
    )
    every = forms.ChoiceField(choices=ExportEvery.choices)
    at = forms.TimeField(
        label="At (UTC)",
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
    )
    weekday = forms.TypedChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, help_text="weekly schedules run on this day"
    )
    day_of_month = forms.IntegerField(label="Day of the month", help_text="monthly schedules: 1 to 28")
    enabled = forms.BooleanField(required=False)
    keep = forms.IntegerField(label="Files kept", help_text="the newest file is always kept")
    keep_days = forms.IntegerField(
        required=False, label="Keep for days", help_text="optional: also delete files older than this many days"
    )

    NEW = {"spec_version": "1.6", "every": "daily", "weekday": 0, "day_of_month": 1, "enabled": True, "keep": 10}

    @classmethod
    def initial_of(cls, schedule: ExportSchedule) -> dict[str, Any]:
        return {name: getattr(schedule, name) for name in services.DEFINITION}


def _schedules() -> list[ExportSchedule]:
    """Every schedule with its files' count and newest file's time, and when it runs next."""
    schedules = list(
        ExportSchedule.objects.annotate(file_count=Count("files"), latest_file_at=Max("files__created_at")).order_by(
            "name"
        )
    )
    for schedule in schedules:
        schedule.next_run_at = services.next_run(schedule)  # type: ignore[attr-defined]
        schedule.weekday_name = WEEKDAYS[schedule.weekday]  # type: ignore[attr-defined]
    return schedules


class ExportsView(PortalView):
    """The schedules, the stored files (newest first, ``?schedule=`` and ``?format=`` as the API's
    filter), and the verification instructions with the public key."""

    def get(self, request: HttpRequest) -> HttpResponse:
        schedules = _schedules()
        filtered = ExportFileFilter(
            request.GET, queryset=ExportFile.objects.select_related("schedule").order_by("-created_at", "-id")
        )
        status = 200
        if filtered.is_valid():
            files = filtered.qs
        else:
            files, status = ExportFile.objects.none(), 400
        page = Paginator(files, PAGE_SIZE).get_page(request.GET.get("page"))
        try:
            public_key, key_error = services.public_key(principal=self.principal), ""
        except (SigningKeyMissing, SigningKeyInvalid) as refusal:
            public_key, key_error = "", str(refusal)
        example = page.object_list[0].filename if page.object_list else "export.csv"
        context = {
            "schedules": schedules,
            "formats": ExportFormat.choices,
            "current": {"schedule": request.GET.get("schedule", ""), "format": request.GET.get("format", "")},
            "filter_errors": filtered.errors if status == 400 else {},
            "page": page,
            "public_key": public_key,
            "key_error": key_error,
            "public_key_filename": PUBLIC_KEY_FILENAME,
            "verify_example": verify_command(example),
            "verify_generic": verify_command("FILE"),
            "example_filename": example,
        }
        return TemplateResponse(request, "portal/exports/exports.html", context, status=status)


class ScheduleFormView(PortalView):
    """GET: the form; POST: the schedule added (no pk) or changed, through the service (admins)."""

    capabilities = {"get": Capability.ADMINISTER, "post": Capability.ADMINISTER}

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        schedule = get_object_or_404(ExportSchedule, pk=pk) if pk else None
        initial = ScheduleForm.initial_of(schedule) if schedule else ScheduleForm.NEW
        return self._page(request, ScheduleForm(initial=initial), schedule)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        schedule = get_object_or_404(ExportSchedule, pk=pk) if pk else None
        form = ScheduleForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, schedule, status=400)
        try:
            if schedule is None:
                saved = services.create_schedule(principal=self.principal, definition=form.cleaned_data)
            else:
                saved = services.update_schedule(principal=self.principal, schedule=schedule, changes=form.cleaned_data)
        except ValidationError as refusal:
            show_refusal(form, refusal)
            return self._page(request, form, schedule, status=400)
        messages.success(request, f"Export schedule {saved.name} {'added' if schedule is None else 'saved'}.")
        return redirect("portal:exports")

    def _page(
        self, request: HttpRequest, form: ScheduleForm, schedule: ExportSchedule | None, *, status: int = 200
    ) -> HttpResponse:
        context = {"form": form, "schedule": schedule}
        return TemplateResponse(request, "portal/exports/schedule_form.html", context, status=status)


class RunScheduleView(PortalView):
    """POST: the schedule's run now (admins): its job's page follows the progress."""

    capabilities = {"post": Capability.ADMINISTER}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        schedule = get_object_or_404(ExportSchedule, pk=pk)
        job = services.run_schedule_now(principal=self.principal, schedule=schedule)
        messages.success(request, f"Export {schedule.name} started as job #{job.pk}; its file is listed once done.")
        return redirect("portal:job", pk=job.pk)


class ExportFileView(PortalView):
    """GET: a stored file, or its detached signature (``signature=True``), from the exports storage."""

    signature = False

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        export_file = get_object_or_404(ExportFile, pk=pk)
        try:
            opened = services.open_export(principal=self.principal, export_file=export_file, signature=self.signature)
        except services.ExportFileMissing as missing:
            raise Http404(str(missing)) from None
        response = FileResponse(
            opened.file, as_attachment=True, filename=opened.filename, content_type=opened.media_type
        )
        response["Content-Length"] = str(opened.size)
        return response


class PublicKeyView(PortalView):
    """GET: the PEM public key every signature verifies with (the API's public-key route's)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            pem = services.public_key(principal=self.principal)
        except (SigningKeyMissing, SigningKeyInvalid) as refusal:
            return HttpResponse(str(refusal), status=503, content_type="text/plain; charset=utf-8")
        response = HttpResponse(pem, content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="{PUBLIC_KEY_FILENAME}"'
        return response


urlpatterns = [
    path("exports/", ExportsView.as_view(), name="exports"),
    path("exports/schedules/new/", ScheduleFormView.as_view(), name="export-schedule-new"),
    path("exports/schedules/<int:pk>/", ScheduleFormView.as_view(), name="export-schedule"),
    path("exports/schedules/<int:pk>/run/", RunScheduleView.as_view(), name="export-run"),
    path("exports/files/<int:pk>/download/", ExportFileView.as_view(), name="export-file-download"),
    path("exports/files/<int:pk>/signature/", ExportFileView.as_view(signature=True), name="export-file-signature"),
    path("exports/public-key/", PublicKeyView.as_view(), name="export-public-key"),
]
