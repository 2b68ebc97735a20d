"""A model's purl for the BOM path: ``inventory.purls.build_purl``'s result, built directly in the
common case.

A document of 100,000 models needs some 300,000 purls (each model's, and each ancestor entry's), and
``packageurl`` normalizes and percent-quotes every part of each: a third of a document's time. A
Hugging Face id and revision made only of characters that purls never quote (letters, digits,
``.``, ``_``, ``-``) give ``pkg:huggingface/<namespace>/<name>@<revision, lowercased>`` exactly as
``packageurl`` writes it (tests/test_bom_purls.py compares them); anything else goes through
``build_purl``.
"""

import re

from inventory.models import Source
from inventory.purls import build_purl

_PLAIN = re.compile(r"[A-Za-z0-9._-]+")


def model_purl(source: str, upstream_id: str, revision: str | None) -> str:
    """The purl of a model at ``revision`` (without a version when none is known)."""
    namespace, _, name = upstream_id.partition("/")
    if (
        source == Source.HUGGINGFACE
        and _PLAIN.fullmatch(namespace)
        and _PLAIN.fullmatch(name)
        and (not revision or _PLAIN.fullmatch(revision))
    ):
        return f"pkg:huggingface/{upstream_id}@{revision.lower()}" if revision else f"pkg:huggingface/{upstream_id}"
    return build_purl(source=source, upstream_id=upstream_id, revision=revision)
