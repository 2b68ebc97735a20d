from django.apps import AppConfig


class BomsConfig(AppConfig):
    name = "boms"
    verbose_name = "CycloneDX BOMs"
