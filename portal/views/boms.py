"""BOM downloads: a CycloneDX document of a model, a system, a team, an environment or the
organization, in the format and version chosen, through the service the API calls
(``boms.services.produce_bom``). A scope small enough is the file at once; a larger one starts the
``bom`` job and the job's page follows its progress, then links the file (``bom-file``).

Anyone who may read may download, as in the API.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from boms import services
from boms.documents import SCOPE_KINDS, Scope, ScopeNotFound
from boms.validation import SPEC_VERSIONS, BomInvalid
from boms.xml import XmlConversionError, XmlValidationError
from portal.views.base import PortalView


class BomForm(forms.Form):
    """``?scope=model|system|team|environment|organization&name=&format=json|xml&version=1.6|1.7``."""

    scope = forms.ChoiceField(choices=[(kind, kind) for kind in SCOPE_KINDS])
    name = forms.CharField(max_length=100, required=False)
    format = forms.ChoiceField(choices=[("json", "JSON"), ("xml", "XML")], required=False)
    version = forms.ChoiceField(choices=[(v, v) for v in SPEC_VERSIONS], required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scope, name = data.get("scope"), data.get("name", "")
        if scope == "organization" and name:
            self.add_error("name", "the organization scope takes no name")
        elif scope and scope != "organization" and not name:
            self.add_error("name", f"required for the {scope} scope")
        elif scope == "model" and not name.isdigit():
            self.add_error("name", "a model's id")
        return data

    def request(self) -> tuple[Scope, services.BomFormat]:
        data = self.cleaned_data
        fmt = services.BomFormat(data["format"] or services.DEFAULT_FORMAT, data["version"] or services.DEFAULT_VERSION)
        return Scope(data["scope"], data["name"]), fmt


class BomDownloadView(PortalView):
    """GET /boms/?scope=&name=&format=&version=: the file (inline), or the job's page (large scopes)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = BomForm(request.GET)
        if not form.is_valid():
            return render(request, "portal/boms/refused.html", {"form": form}, status=400)
        scope, fmt = form.request()
        try:
            outcome = services.produce_bom(principal=self.principal, scope=scope, fmt=fmt)
        except ScopeNotFound as missing:
            raise Http404(str(missing)) from None
        except (BomInvalid, XmlValidationError, XmlConversionError) as invalid:
            context = {"form": form, "invalid": str(invalid)}
            return render(request, "portal/boms/refused.html", context, status=500)
        if outcome.job is not None:
            messages.info(
                request,
                f"The {scope.key} BOM covers {outcome.models} models: it is being written as job #{outcome.job.pk}; "
                "its file is linked here when the job is done.",
            )
            return redirect("portal:job", pk=outcome.job.pk)
        bom = outcome.inline
        assert bom is not None
        response = FileResponse(bom.file, as_attachment=True, filename=bom.filename, content_type=bom.format.media_type)
        response["Content-Length"] = str(bom.size)
        return response


class BomFileView(PortalView):
    """GET /boms/files/<job id>/: the file a BOM job stored (404 until it has succeeded)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            stored = services.stored_bom(principal=self.principal, job_id=pk)
        except services.BomFileNotReady as missing:
            raise Http404(str(missing)) from None
        return FileResponse(stored.file, as_attachment=True, filename=stored.filename, content_type=stored.media_type)


urlpatterns = [
    path("boms/", BomDownloadView.as_view(), name="bom"),
    path("boms/files/<int:pk>/", BomFileView.as_view(), name="bom-file"),
]
