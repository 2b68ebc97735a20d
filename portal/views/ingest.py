"""BOM upload: a CycloneDX document (JSON or XML) sent from a form, checked and stored by the service
the API's ``POST /api/v1/boms/`` calls (``boms.ingest.uploads.submit_bom``), then applied by its
``bom_ingest`` job, whose page follows the progress and shows the result.

As in the API: registering is needed (deployers, editors, admins); the document may be at most
``BOM_UPLOAD_MAX_BYTES`` (413), told by the request's length before anything is read, or while the
file is read (the upload stops there, nothing of it is kept); a refused document is a 400 whose
errors name each failing path in it, or the line and column where it stopped parsing.

The format is the file's: ``.json`` is CycloneDX JSON and ``.xml`` CycloneDX XML, else the media
type the browser sent for it, when it is one the API takes.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from api.governance.uploads import EvidenceSizeLimit
from boms.ingest import parsing, uploads
from core.access import Capability
from portal.forms import PrintableForm, show_refusal
from portal.views.base import PortalView

BY_EXTENSION = {".json": "application/vnd.cyclonedx+json", ".xml": "application/vnd.cyclonedx+xml"}


class BomSizeLimit(EvidenceSizeLimit):
    """The evidence upload's limit, at ``BOM_UPLOAD_MAX_BYTES``: stops reading a file past it."""

    @classmethod
    def install(cls, request: Any) -> "BomSizeLimit":
        handler = cls(settings.BOM_UPLOAD_MAX_BYTES)
        request.upload_handlers.insert(0, handler)
        return handler

    def message(self) -> str:
        return too_large_message()


def too_large_message() -> str:
    limit = settings.BOM_UPLOAD_MAX_BYTES
    return f"larger than the {limit} bytes a BOM upload may have (BOM_UPLOAD_MAX_BYTES)"


class UploadForm(PrintableForm, forms.Form):
    document = forms.FileField(
        label="CycloneDX document",
        help_text="JSON (.json) or XML (.xml), CycloneDX 1.4 to 1.7; checked against its version's schema",
    )
    environment = forms.CharField(
        max_length=50,
        required=False,
        help_text="optional: register the document's system (metadata.component) as deployed in this environment",
    )


def media_type_of(upload: UploadedFile) -> str | None:
    """The media type the document is read as: by its name's extension, else the one sent with it."""
    name = (upload.name or "").lower()
    for extension, media_type in BY_EXTENSION.items():
        if name.endswith(extension):
            return media_type
    sent = (upload.content_type or "").partition(";")[0].strip().lower()
    return sent if sent in parsing.MEDIA_TYPES else None


def problem_rows(rejected: parsing.BomRejected) -> list[dict[str, Any]]:
    """Each problem with where it is: the path in the document, or the line and column."""
    rows = []
    for problem in rejected.problems:
        if problem.path:
            where = problem.path
        elif problem.line is not None:
            where = f"line {problem.line}, column {problem.column}"
        else:
            where = "the document"
        rows.append({"where": where, "message": problem.message, "pointer": problem.pointer})
    return rows


@method_decorator(csrf_exempt, name="dispatch")  # checked in post, once the upload limit is in place
class UploadView(PortalView):
    """GET: the form (for those who may register; others are told they may not). POST: the upload."""

    capabilities = {"post": Capability.REGISTER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, UploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or ""
        # The form's other fields and the multipart framing come on top of the file: at most
        # DATA_UPLOAD_MAX_MEMORY_SIZE, or Django refuses them anyway.
        if length.isdigit() and int(length) > settings.BOM_UPLOAD_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return self._too_large(request, UploadForm({}, {}))  # refused before a byte is read
        limit = BomSizeLimit.install(request)  # before anything reads the body (CSRF would)
        return csrf_protect(lambda checked: self._upload(checked, limit))(request)

    def _upload(self, request: HttpRequest, limit: BomSizeLimit) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if limit.exceeded:
            return self._too_large(request, form)
        if not form.is_valid():
            return self._page(request, form, status=400)
        document = form.cleaned_data["document"]
        media_type = media_type_of(document)
        if media_type is None:
            form.add_error("document", "name the file .json or .xml (CycloneDX JSON or XML)")
            return self._page(request, form, status=400)
        content = b"".join(document.chunks())
        try:
            submitted = uploads.submit_bom(
                principal=self.principal,
                content=content,
                media_type=media_type,
                environment=form.cleaned_data["environment"],
            )
        except parsing.BomRejected as rejected:
            context = {"rejected": str(rejected), "problems": problem_rows(rejected), "filename": document.name}
            return self._page(request, form, status=400, **context)
        except parsing.UnsupportedMediaType as refusal:
            form.add_error("document", str(refusal))
            return self._page(request, form, status=400)
        except ValidationError as refusal:
            show_refusal(form, refusal)
            return self._page(request, form, status=400)
        parsed = submitted.parsed
        messages.success(
            request,
            f"{document.name}: a valid CycloneDX {parsed.spec_version} {parsed.format.upper()} document "
            f"({parsed.size} bytes); job #{submitted.job.pk} is applying it.",
        )
        return redirect("portal:job", pk=submitted.job.pk)

    def _too_large(self, request: HttpRequest, form: UploadForm) -> HttpResponse:
        form.is_valid()
        form.errors.pop("document", None)
        form.add_error("document", too_large_message())
        return self._page(request, form, status=413)

    def _page(self, request: HttpRequest, form: UploadForm, *, status: int = 200, **context: Any) -> HttpResponse:
        context = {"form": form, "limit": settings.BOM_UPLOAD_MAX_BYTES, **context}
        return TemplateResponse(request, "portal/ingest/upload.html", context, status=status)


urlpatterns = [
    path("boms/upload/", UploadView.as_view(), name="bom-upload"),
]
