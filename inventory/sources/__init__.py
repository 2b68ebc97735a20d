"""Upstream sources: each hub behind one small interface (see ``base``)."""

from inventory.models import Source
from inventory.sources.base import UpstreamSource
from inventory.sources.huggingface import HuggingFaceSource

# The sources the registry can refresh from; models from other sources are left as registered.
_SOURCES: dict[str, UpstreamSource] = {Source.HUGGINGFACE: HuggingFaceSource()}
REFRESHABLE_SOURCES = tuple(_SOURCES)


def source_for(name: str) -> UpstreamSource:
    """The client for source ``name``; KeyError for a source that cannot be refreshed."""
    return _SOURCES[name]
