"""API: the REST interface (DRF) for deploy tooling and people."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API app."""

    name = "api"
