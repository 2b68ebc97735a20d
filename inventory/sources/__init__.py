"""Upstream sources: each hub behind one small interface (see ``base``), and the rules of every
source the registry knows, including those it does not refresh from."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from inventory.models import Source
from inventory.sources.base import SourceRules, UpstreamSource
from inventory.sources.huggingface import HuggingFaceSource


@dataclass(frozen=True)
class NotRefreshed:
    """A source whose models are left as registered: its revisions are stored as given, and
    ``because`` says why it is not refreshed (shown as the model's ``refresh_error``)."""

    name: str
    because: str

    def normalize_revision(self, revision: str) -> str:
        return revision


_REFRESHED: dict[str, UpstreamSource] = {Source.HUGGINGFACE: HuggingFaceSource()}
_NOT_REFRESHED: dict[str, NotRefreshed] = {
    Source.MODELSCOPE: NotRefreshed(Source.MODELSCOPE, "refresh from ModelScope is not supported yet"),
    Source.INTERNAL: NotRefreshed(Source.INTERNAL, "internal models are not refreshed from a hub"),
    Source.BOM: NotRefreshed(Source.BOM, "models named by an ingested BOM without a purl are not refreshed"),
}
# The sources the registry refreshes from: a live view, so a source registered later counts.
REFRESHABLE_SOURCES = _REFRESHED.keys()


def rules_for(name: str) -> SourceRules:
    """The rules of source ``name`` (every ``Source`` has some); KeyError for a name no source has."""
    return _REFRESHED.get(name) or _NOT_REFRESHED[name]


def source_for(name: str) -> UpstreamSource:
    """The client for source ``name``; KeyError for a source that is not refreshed (see ``not_refreshed_because``)."""
    return _REFRESHED[name]


def not_refreshed_because(name: str) -> str:
    """Why models from source ``name`` are not refreshed; empty for a source that is (and for a
    name no source has, which validation refuses)."""
    rules = _NOT_REFRESHED.get(name)
    return rules.because if rules is not None else ""


@contextmanager
def registered(source: UpstreamSource) -> Iterator[UpstreamSource]:
    """Refresh models of ``source.name`` from ``source`` while the block runs, then put back what
    was there (tests put an in-memory source in place with it)."""
    replaced, not_refreshed = _REFRESHED.get(source.name), _NOT_REFRESHED.pop(source.name, None)
    _REFRESHED[source.name] = source
    try:
        yield source
    finally:
        del _REFRESHED[source.name]
        if replaced is not None:
            _REFRESHED[source.name] = replaced
        if not_refreshed is not None:
            _NOT_REFRESHED[source.name] = not_refreshed
