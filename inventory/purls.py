"""Package URLs for models, and parsing the references clients write.

Hugging Face models use the purl spec's own type: ``pkg:huggingface/<namespace>/<name>@<commit sha>``.
Sources the spec has no type for use ``pkg:generic/<namespace>/<name>@<revision>?repository_url=<hub>``
(see docs/purls.md). Clients may also write ``<source>:<namespace>/<name>[@<revision>]``.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from packageurl import PackageURL

from inventory.models import Source
from inventory.validators import has_control_characters, validate_upstream_id

# The repository_url of models named by an ingested BOM without a purl (a reserved, never-resolving
# name: such a model lives nowhere but in the BOM that named it).
BOM_REPOSITORY_URL = "https://bom.invalid"


@dataclass(frozen=True)
class ModelReference:
    """A model named by a client: source, upstream id and an optional revision."""

    source: str
    upstream_id: str
    revision: str | None = None


def repository_urls() -> dict[str, str]:
    """The repository_url qualifier of each source written as ``pkg:generic``."""
    return {
        Source.MODELSCOPE: f"https://{settings.MODELSCOPE_DOMAIN}",
        Source.INTERNAL: settings.INTERNAL_MODEL_REPOSITORY_URL,
        Source.BOM: BOM_REPOSITORY_URL,
    }


def build_purl(*, source: str, upstream_id: str, revision: str | None) -> str:
    """The purl of a model, at ``revision`` when one is known."""
    namespace, name = upstream_id.split("/", 1)
    if source == Source.HUGGINGFACE:
        return PackageURL(type="huggingface", namespace=namespace, name=name, version=revision).to_string()
    qualifiers = {"repository_url": repository_urls()[source]}
    return PackageURL(
        type="generic", namespace=namespace, name=name, version=revision, qualifiers=qualifiers
    ).to_string()


def _from_purl(text: str) -> ModelReference:
    try:
        purl = PackageURL.from_string(text)
    except ValueError as exc:
        raise ValidationError(f"not a valid package URL: {exc}") from None
    if purl.type == "huggingface":
        source = Source.HUGGINGFACE
    elif purl.type == "generic":
        by_url = {url.rstrip("/"): source for source, url in repository_urls().items()}
        source = by_url.get((purl.qualifiers or {}).get("repository_url", "").rstrip("/"))
        if source is None:
            raise ValidationError(
                "a pkg:generic model URL needs a repository_url qualifier of a known source: "
                + ", ".join(sorted(by_url))
            )
    else:
        raise ValidationError(f"package URLs of type {purl.type!r} do not name models")
    if not purl.namespace:
        raise ValidationError("a model package URL needs a namespace: pkg:<type>/<namespace>/<name>")
    upstream_id = f"{purl.namespace}/{purl.name}"
    validate_upstream_id(upstream_id)
    return ModelReference(source=source, upstream_id=upstream_id, revision=purl.version)


def _from_short_form(text: str) -> ModelReference:
    source, _, rest = text.partition(":")
    if source not in Source.values:
        raise ValidationError(f"unknown source {source!r}; expected one of {', '.join(Source.values)}")
    upstream_id, _, revision = rest.partition("@")
    validate_upstream_id(upstream_id)
    return ModelReference(source=source, upstream_id=upstream_id, revision=revision or None)


def parse_reference(text: str) -> ModelReference:
    """A purl or ``<source>:<namespace>/<name>[@<revision>]``; ValidationError says what is wrong."""
    if has_control_characters(text):
        raise ValidationError("model references must not contain control characters")
    reference = _from_purl(text) if text.startswith("pkg:") else _from_short_form(text)
    if has_control_characters(reference.upstream_id + (reference.revision or "")):  # percent-decoded parts
        raise ValidationError("model references must not contain control characters")
    return reference
