"""Reads that more than one interface needs."""

from django.db.models import QuerySet

from inventory.models import (
    UNKNOWN_COUNTRY,
    AIModel,
    License,
    LicenseAlias,
    ModelAlias,
    Publisher,
    PublisherNamespace,
    Revision,
)
from inventory.purls import build_purl


def find_model(*, source: str, upstream_id: str) -> AIModel | None:
    """The model under this upstream id, or under an id it had before a rename."""
    model = AIModel.objects.filter(source=source, upstream_id__iexact=upstream_id).first()
    if model is not None:
        return model
    alias = ModelAlias.objects.filter(source=source, upstream_id__iexact=upstream_id).select_related("model").first()
    return alias.model if alias else None


def publisher_of_namespace(*, source: str, namespace: str) -> Publisher | None:
    """The publisher that owns (or owned, for a renamed namespace) this hub namespace."""
    entry = PublisherNamespace.objects.filter(source=source, namespace__iexact=namespace).select_related("publisher")
    found = entry.first()
    return found.publisher if found else None


def models_with_origin(country: str) -> QuerySet[AIModel]:
    """Models whose effective origin includes ``country`` (an ISO code or "unknown"): one indexed query."""
    return AIModel.objects.filter(origin_countries__country=country if country == UNKNOWN_COUNTRY else country.upper())


def effective_origin(model: AIModel) -> list[str]:
    """The model's effective origin as sorted codes, "unknown" last."""
    countries = set(model.origin_countries.values_list("country", flat=True))
    return sorted(countries - {UNKNOWN_COUNTRY}) + ([UNKNOWN_COUNTRY] if UNKNOWN_COUNTRY in countries else [])


def latest_revision(model: AIModel) -> Revision | None:
    return model.revisions.order_by("-created_at", "-id").first()


def model_purl(model: AIModel, revision: Revision | None = None) -> str:
    """The model's purl, at ``revision`` or else its latest known one (without ``@`` when none)."""
    pinned = revision or latest_revision(model)
    return build_purl(source=model.source, upstream_id=model.upstream_id, revision=pinned.revision if pinned else None)


def license_for_hub(*, license_id: str, license_name: str = "") -> License | None:
    """The catalogue license a hub's ``license`` (and, for ``other``, ``license_name``) value names.

    None when the catalogue knows no such alias: the value is unknown, never guessed.
    """
    alias = license_name if license_id.lower() == "other" and license_name else license_id
    if not alias:
        return None
    found = LicenseAlias.objects.filter(alias__iexact=alias).select_related("license").first()
    return found.license if found else None
