"""API views of compliance exports (docs/boms.md#exports): schedules (read by anyone who reads, set and
run by admins), ad-hoc runs (admins), the files runs stored with their detached Ed25519 signatures, and
the public key those verify with. Each action maps its request to one ``boms.exports.services`` call."""

from datetime import time
from typing import Any

import django_filters
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.base import RegistryViewSet
from api.boms.views import PROBLEM, BomAcceptIgnored
from api.errors import problem
from api.inputs import StrictSerializer, text
from api.serializers import JobSerializer
from boms.export_models import ExportEvery, ExportFile, ExportFormat, ExportSchedule, ExportScopeKind
from boms.exports import services
from boms.exports.signing import SigningKeyInvalid, SigningKeyMissing
from boms.validation import SPEC_VERSIONS
from core.access import Capability
from inventory.filters import MAX_ID

AT_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
PEM = "application/x-pem-file"
FILE_TYPES = {
    "application/vnd.cyclonedx+json": "a CycloneDX JSON export (the Content-Type names its version)",
    "application/vnd.cyclonedx+xml": "a CycloneDX XML export (the Content-Type names its version)",
    "text/csv": "a CSV inventory (UTF-8)",
}


# --- Serializers ----------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": AT_PATTERN, "example": "02:00"})
class AtField(serializers.CharField):
    """A time of day in UTC, ``HH:MM``."""

    def to_internal_value(self, data: Any) -> time:
        value = super().to_internal_value(data)
        try:
            hours, minutes = value.split(":")
            if len(hours) != 2 or len(minutes) != 2:
                raise ValueError
            return time(int(hours), int(minutes))
        except ValueError:
            raise serializers.ValidationError("a time of day in UTC as HH:MM (00:00 to 23:59)") from None

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


class ExportLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    run = serializers.URLField(help_text="POST: run it now")
    files = serializers.URLField(help_text="the files its runs stored")


class ExportScheduleSerializer(serializers.ModelSerializer):
    """A schedule: what it exports, when, what it keeps; when it ran last and runs next."""

    at = AtField(read_only=True, help_text="time of day, UTC (HH:MM)")
    last_slot = serializers.DateTimeField(read_only=True, allow_null=True, help_text="the last slot a run started for")
    next_run = serializers.SerializerMethodField(help_text="the next slot (null: disabled)")
    links = serializers.SerializerMethodField()

    class Meta:
        model = ExportSchedule
        fields = [
            "id", "name", "scope", "scope_name", "format", "spec_version", "every", "at", "weekday", "day_of_month",
            "enabled", "keep", "keep_days", "last_slot", "next_run", "created_at", "updated_at", "links",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_run(self, schedule: ExportSchedule) -> str | None:
        upcoming = services.next_run(schedule)
        return serializers.DateTimeField().to_representation(upcoming) if upcoming else None

    @extend_schema_field(ExportLinksSerializer)
    def get_links(self, schedule: ExportSchedule) -> dict[str, str]:
        request = self.context.get("request")
        own = reverse("export-detail", args=[schedule.pk], request=request)
        files = reverse("export-file-list", request=request)
        return {"self": own, "run": f"{own}run/", "files": f"{files}?schedule={schedule.pk}"}


def _definition_fields(required: bool) -> dict[str, serializers.Field]:
    optional: dict[str, Any] = {} if required else {"required": False}
    return {
        "name": text(100, min_length=1, **optional),
        "scope": serializers.ChoiceField(choices=ExportScopeKind.choices, **optional),
        "scope_name": text(
            100, required=False, allow_blank=True, help_text="the system, team or environment (none: organization)"
        ),
        "format": serializers.ChoiceField(choices=ExportFormat.choices, **optional),
        "spec_version": serializers.ChoiceField(
            choices=list(SPEC_VERSIONS), required=False, help_text="CycloneDX version (ignored for csv); 1.6 by default"
        ),
        "every": serializers.ChoiceField(choices=ExportEvery.choices, required=False, help_text="daily by default"),
        "at": AtField(help_text="time of day, UTC (HH:MM)", **optional),
        "weekday": serializers.IntegerField(
            min_value=0, max_value=6, required=False, help_text="weekly: 0 = Monday ... 6 = Sunday"
        ),
        "day_of_month": serializers.IntegerField(min_value=1, max_value=28, required=False, help_text="monthly: 1-28"),
        "enabled": serializers.BooleanField(required=False),
        "keep": serializers.IntegerField(
            min_value=1, max_value=10_000, required=False, help_text="files kept (the newest always is); 10 by default"
        ),
        "keep_days": serializers.IntegerField(
            min_value=1, max_value=36_500, required=False, allow_null=True,
            help_text="also delete files older than this many days (the newest is kept whatever its age)",
        ),
    }  # fmt: skip


ExportScheduleCreateSerializer = type(
    "ExportScheduleCreateSerializer",
    (StrictSerializer,),
    {
        "__module__": __name__,
        "__doc__": "A new schedule. ``scope_name`` is required for the system, team and environment scopes and "
        "refused for the organization; ``name`` is taken once.",
        **_definition_fields(required=True),
    },
)
ExportScheduleChangeSerializer = type(
    "ExportScheduleChangeSerializer",
    (StrictSerializer,),
    {
        "__module__": __name__,
        "__doc__": "Any of a schedule's fields; the same rules as a new one hold for the result.",
        **_definition_fields(required=False),
    },
)


class AdhocExportSerializer(StrictSerializer):
    """A one-off export: a scope and a format (``scope_name`` as for a schedule)."""

    scope = serializers.ChoiceField(choices=ExportScopeKind.choices)
    scope_name = text(100, required=False, allow_blank=True, default="")
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    spec_version = serializers.ChoiceField(choices=list(SPEC_VERSIONS), required=False, default="1.6")


class ExportFileLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    download = serializers.URLField()
    signature = serializers.URLField(help_text="the detached Ed25519 signature of the file's bytes (64 bytes)")
    job = serializers.URLField(allow_null=True)


class ExportFileSerializer(serializers.ModelSerializer):
    """A stored export: what it covers, its size and SHA-256, and where to get it and its signature."""

    models = serializers.IntegerField(source="rows", read_only=True, help_text="models in the file")
    links = serializers.SerializerMethodField()

    class Meta:
        model = ExportFile
        fields = [
            "id", "schedule", "slot", "scope", "scope_name", "format", "spec_version", "filename", "media_type",
            "size", "sha256", "models", "created_at", "links",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ExportFileLinksSerializer)
    def get_links(self, export_file: ExportFile) -> dict[str, str | None]:
        request = self.context.get("request")
        own = reverse("export-file-detail", args=[export_file.pk], request=request)
        job = reverse("job-detail", args=[export_file.job_id], request=request) if export_file.job_id else None
        return {"self": own, "download": f"{own}download/", "signature": f"{own}signature/", "job": job}


class ExportFileFilter(django_filters.FilterSet):
    schedule = django_filters.NumberFilter(field_name="schedule_id", min_value=1, max_value=MAX_ID)
    format = django_filters.ChoiceFilter(choices=ExportFormat.choices)

    class Meta:
        model = ExportFile
        fields: list[str] = []


# --- Views ----------------------------------------------------------------------------------------


def _job_accepted(job: Any, request: Request) -> Response:
    body = JobSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])})


def _no_key(refusal: Exception) -> Response:
    return problem(status.HTTP_503_SERVICE_UNAVAILABLE, str(refusal))


class ExportScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Export schedules: list and read (anyone who reads); add, change and run (admins); ad-hoc runs
    (admins); the public key of the signatures (anyone who reads)."""

    serializer_class = ExportScheduleSerializer
    queryset = ExportSchedule.objects.order_by("name")
    capabilities = {
        "create": Capability.ADMINISTER,
        "partial_update": Capability.ADMINISTER,
        "run": Capability.ADMINISTER,
        "adhoc": Capability.ADMINISTER,
    }

    @extend_schema(request=ExportScheduleCreateSerializer, responses={201: ExportScheduleSerializer})
    def create(self, request: Request) -> Response:
        """Add a schedule; it first runs at its first slot after now."""
        definition = ExportScheduleCreateSerializer(data=request.data)
        definition.is_valid(raise_exception=True)
        schedule = services.create_schedule(principal=self.principal, definition=definition.validated_data)
        body = self.get_serializer(schedule).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": str(body["links"]["self"])})

    @extend_schema(request=ExportScheduleChangeSerializer, responses=ExportScheduleSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change any of a schedule's fields (``enabled: false`` pauses it)."""
        changes = ExportScheduleChangeSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        schedule = services.update_schedule(
            principal=self.principal, schedule=self.get_object(), changes=changes.validated_data
        )
        return Response(self.get_serializer(schedule).data)

    @extend_schema(operation_id="v1_exports_run_schedule", request=None, responses={202: JobSerializer}, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Run the schedule now: a job (``Location``) whose result links the file; its file counts for
        the schedule's retention."""
        return _job_accepted(services.run_schedule_now(principal=self.principal, schedule=self.get_object()), request)

    @extend_schema(
        operation_id="v1_exports_run_adhoc",
        request=AdhocExportSerializer,
        responses={202: JobSerializer},
        filters=False,
    )
    @action(detail=False, methods=["post"], url_path="run", filter_backends=[], pagination_class=None)
    def adhoc(self, request: Request) -> Response:
        """Export any scope once, outside a schedule: a job whose result links the file (kept until deleted)."""
        target = AdhocExportSerializer(data=request.data)
        target.is_valid(raise_exception=True)
        return _job_accepted(services.run_adhoc(principal=self.principal, **target.validated_data), request)

    @extend_schema(
        responses={
            (200, PEM): OpenApiResponse(OpenApiTypes.STR, description="the Ed25519 public key (PEM, SPKI)"),
            (503, "application/problem+json"): OpenApiResponse(PROBLEM, description="no signing key is configured"),
        },
        filters=False,
    )  # fmt: skip
    @action(
        detail=False, methods=["get"], url_path="public-key", filter_backends=[], pagination_class=None,
        content_negotiation_class=BomAcceptIgnored, renderer_classes=[JSONRenderer],
    )  # fmt: skip
    def public_key(self, request: Request) -> Any:
        """The public key every export signature verifies with (``openssl pkeyutl -verify -pubin -inkey``)."""
        try:
            pem = services.public_key(principal=self.principal)
        except (SigningKeyMissing, SigningKeyInvalid) as refusal:
            return _no_key(refusal)
        response = HttpResponse(pem, content_type=PEM)
        response["Content-Disposition"] = 'inline; filename="export-signing-key.pem"'
        return response


class ExportFileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """The files export runs stored, newest first: their metadata, the file and its signature."""

    serializer_class = ExportFileSerializer
    filterset_class = ExportFileFilter
    queryset = ExportFile.objects.order_by("-created_at", "-id")

    def _send(self, signature: bool) -> FileResponse:
        try:
            opened = services.open_export(principal=self.principal, export_file=self.get_object(), signature=signature)
        except services.ExportFileMissing as missing:
            raise NotFound(str(missing)) from None
        return FileResponse(opened.file, as_attachment=True, filename=opened.filename, content_type=opened.media_type)

    @extend_schema(
        responses={
            (200, media): OpenApiResponse(OpenApiTypes.BINARY, description=text_) for media, text_ in FILE_TYPES.items()
        },
        filters=False,
    )
    @action(
        detail=True, methods=["get"], filter_backends=[], content_negotiation_class=BomAcceptIgnored,
        renderer_classes=[JSONRenderer],
    )  # fmt: skip
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The stored file, as an attachment of its own type."""
        return self._send(signature=False)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="64 bytes: the Ed25519 signature of the file's bytes"
            )
        },
        filters=False,
    )
    @action(
        detail=True, methods=["get"], filter_backends=[], content_negotiation_class=BomAcceptIgnored,
        renderer_classes=[JSONRenderer],
    )  # fmt: skip
    def signature(self, request: Request, pk: str | None = None) -> FileResponse:
        """The file's detached signature (``<filename>.sig``)."""
        return self._send(signature=True)
