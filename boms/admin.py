"""Admin of compliance exports: schedules (written through ``boms.exports.services``, run now as an
action) and the stored files (read-only; each downloaded, or its signature, from its row)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from boms.export_models import ExportFile, ExportSchedule
from boms.exports import services
from boms.exports.services import DEFINITION
from core.access import principal_for_user


class ExportScheduleForm(forms.ModelForm):
    """The schedule's fields, with the rules across them (``services.check_target``) shown on the form."""

    class Meta:
        model = ExportSchedule
        fields = list(DEFINITION)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                services.check_target(
                    scope=cleaned.get("scope", ""),
                    scope_name=cleaned.get("scope_name", ""),
                    format=cleaned.get("format", ""),
                    spec_version=cleaned.get("spec_version", ""),
                )
            except ValidationError as refusal:
                self.add_error(None, refusal)  # a dict of field errors goes to those fields
        return cleaned


@admin.register(ExportSchedule)
class ExportScheduleAdmin(admin.ModelAdmin):
    """Export schedules; saved through the service (its change-log row), run now by the action."""

    form = ExportScheduleForm
    list_display = ["name", "scope", "scope_name", "format", "spec_version", "every", "at", "enabled", "keep",
                    "last_slot", "next_run"]  # fmt: skip
    list_filter = ["enabled", "format", "scope", "every"]
    search_fields = ["name", "scope_name"]
    readonly_fields = ["last_slot", "created_at", "updated_at"]
    actions = ["run_now"]

    @admin.display(description="next run (UTC)")
    def next_run(self, schedule: ExportSchedule) -> Any:
        return services.next_run(schedule) or "-"

    def save_model(self, request: HttpRequest, obj: ExportSchedule, form: forms.ModelForm, change: bool) -> None:
        principal = principal_for_user(request.user)
        values = {name: form.cleaned_data[name] for name in DEFINITION if name in form.cleaned_data}
        if change:
            saved = services.update_schedule(principal=principal, schedule=obj, changes=values)
        else:
            saved = services.create_schedule(principal=principal, definition=values)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # pause a schedule (enabled off); its files stay with it

    @admin.action(description="Run the selected schedules now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[ExportSchedule]) -> None:
        principal = principal_for_user(request.user)
        try:
            jobs = [services.run_schedule_now(principal=principal, schedule=schedule) for schedule in queryset]
        except PermissionDenied as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return
        self.message_user(request, f"Started {len(jobs)} export job(s): {', '.join(f'#{job.pk}' for job in jobs)}")


@admin.register(ExportFile)
class ExportFileAdmin(admin.ModelAdmin):
    """Stored export files, newest first: read-only, each with its download and signature links."""

    list_display = ["filename", "schedule", "format", "size", "sha256", "created_at", "downloads"]
    list_filter = ["format", "scope", "schedule"]
    search_fields = ["filename", "sha256"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # retention deletes files (with their stored bytes); a row alone is never removed

    @admin.display(description="download")
    def downloads(self, export_file: ExportFile) -> str:
        return format_html(
            '<a href="{}">file</a> · <a href="{}">signature</a>',
            reverse("admin:boms_exportfile_download", args=[export_file.pk]),
            reverse("admin:boms_exportfile_signature", args=[export_file.pk]),
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:file_id>/download/", view(self.download_view), name="boms_exportfile_download"),
            path("<int:file_id>/signature/", view(self.signature_view), name="boms_exportfile_signature"),
            *super().get_urls(),
        ]

    def _send(self, request: HttpRequest, file_id: int, signature: bool) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export_file = ExportFile.objects.filter(pk=file_id).first()
        if export_file is None:
            raise Http404("no such export file")
        try:
            opened = services.open_export(
                principal=principal_for_user(request.user), export_file=export_file, signature=signature
            )
        except services.ExportFileMissing as missing:
            raise Http404(str(missing)) from None
        return FileResponse(opened.file, as_attachment=True, filename=opened.filename, content_type=opened.media_type)

    def download_view(self, request: HttpRequest, file_id: int) -> FileResponse:
        return self._send(request, file_id, signature=False)

    def signature_view(self, request: HttpRequest, file_id: int) -> FileResponse:
        return self._send(request, file_id, signature=True)
