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
