from django.apps import AppConfig


class BomsConfig(AppConfig):
    """CycloneDX documents out; registers the ``bom`` job kind."""

    name = "boms"
    verbose_name = "CycloneDX BOMs"

    def ready(self) -> None:
        from boms import jobs  # noqa: F401  (registers the bom job kind)
        from boms.exports import jobs as export_jobs  # noqa: F401  (registers the export job kind)
        from boms.ingest import apply  # noqa: F401  (registers the bom_ingest job kind)
