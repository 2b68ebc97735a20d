"""The numbering of BOM documents: one counter per scope, so a scope's documents carry increasing versions."""

from django.db import models


class BomSerial(models.Model):
    """The last BOM version issued for one scope (``model:<id>``, ``system:<name>``, ``organization``...),
    with the serial number of that document."""

    scope_key = models.CharField(max_length=300, unique=True)
    version = models.PositiveIntegerField()
    last_serial = models.CharField(max_length=45)  # urn:uuid:<uuid>
    spec_version = models.CharField(max_length=8)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "BOM serial"
        constraints = [models.CheckConstraint(condition=models.Q(version__gte=1), name="bom_serial_version_positive")]

    def __str__(self) -> str:
        return f"{self.scope_key} v{self.version}"


class BomUpload(models.Model):
    """A CycloneDX document someone sent to ``POST /api/v1/boms/``, as received: validated in that
    request, then applied by the ``bom_ingest`` job (params ``{"document_id": <this id>, "environment":
    ...}``), which parses ``content`` again with ``boms.ingest.parsing.parse_document(content,
    media_type)``.

    ``system`` is the document's ``metadata.component.name`` ("" when it has none): at most one ingest
    per system at a time. ``environment`` is the request's ``?environment=`` ("" when not given).
    """

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_name = models.CharField(max_length=150)  # who sent it: a person, a token, the system
    media_type = models.CharField(max_length=100)  # the request's Content-Type, without parameters
    format = models.CharField(max_length=4, choices=Format.choices)
    spec_version = models.CharField(max_length=8)
    serial_number = models.CharField(max_length=100, blank=True)  # the document's serialNumber, "" without one
    bom_version = models.PositiveIntegerField(null=True, blank=True)  # the document's version, when it has one
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    content = models.BinaryField()  # the bytes as sent
    system = models.CharField(max_length=100, blank=True, db_index=True)
    environment = models.CharField(max_length=50, blank=True)
    job = models.OneToOneField("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="bom_upload")

    class Meta:
        verbose_name = "BOM upload"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(format__in=["json", "xml"]), name="bom_upload_format_valid"),
        ]

    def __str__(self) -> str:
        return f"BOM upload #{self.pk} ({self.format} {self.spec_version}, {self.size} bytes)"


from boms.export_models import ExportFile, ExportSchedule  # noqa: E402, F401  (compliance exports, their own module)
