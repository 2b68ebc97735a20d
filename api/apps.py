"""API: the REST interface (DRF) for deploy tooling and people."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API app."""

    name = "api"

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers the bearer scheme with drf-spectacular)
