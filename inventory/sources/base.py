"""What every upstream source returns: a normalized record, or one of four kinds of error."""

from dataclasses import asdict, dataclass
from typing import Any, Protocol


class SourceError(Exception):
    """A fetch failed; the subclass says whether and when trying again can help."""


class NotFound(SourceError):
    """The hub has no such model (deleted, or never existed): permanent."""


class RateLimited(SourceError):
    """The hub asks us to slow down, for ``retry_after`` seconds when it says."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(SourceError):
    """A failure that may pass: timeouts, dropped connections, 5xx, a garbled answer."""


class PermanentError(SourceError):
    """A failure that trying again will not fix: access refused, an answer that is no model."""


@dataclass(frozen=True)
class BaseModelRef:
    """A base model named upstream, with how the model derives from it and where that was read.

    ``source`` is the hub the base lives on: a ModelScope model may be fine-tuned from a Hugging
    Face one. Empty means the hub of the record that names it.
    """

    upstream_id: str
    relation: str  # inventory.models.Relation
    learned_from: str  # inventory.models.EdgeOrigin
    source: str = ""  # inventory.models.Source

    def lives_on(self, child_source: str) -> str:
        """The hub the base lives on, named by a record from ``child_source``."""
        return self.source or child_source


@dataclass(frozen=True)
class FileRecord:
    """A file of a revision, as a hub lists it or a client reports it: ``sha256`` of the content
    (a hub gives it for LFS files only), ``blob_id`` the git blob id (for an LFS file, of its pointer)."""

    path: str
    size: int | None = None
    sha256: str = ""
    blob_id: str = ""


@dataclass(frozen=True)
class SecurityScan:
    """The hub's own scan: whether it was done, and the files it flagged."""

    done: bool
    files_with_issues: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class UpstreamRecord:
    """A model as its hub describes it, in the registry's terms."""

    upstream_id: str  # as the hub names it now: differs from the id asked for when the repo moved
    revision: str
    license_id: str = ""
    license_name: str = ""
    license_link: str = ""
    gated: bool = False
    task: str = ""
    library: str = ""
    architecture: str = ""
    parameter_count: int | None = None
    architecture_family: str = ""  # the config's model_type ("llama", "qwen2"...)
    tags: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()  # the ids of the datasets the card names, on the record's hub
    languages: tuple[str, ...] = ()
    # The card's evaluation results, one per metric, in AIModel.evaluation_results's shape: task,
    # dataset (hub id, else name), dataset_name, metric, value (number or string), verified (or None).
    eval_results: tuple[dict[str, Any], ...] = ()
    base_models: tuple[BaseModelRef, ...] = ()
    ignored_base_models: tuple[str, ...] = ()  # named upstream, but not a model id we can follow
    files: tuple[FileRecord, ...] = ()
    security: SecurityScan | None = None
    last_modified: str = ""

    @property
    def license_value(self) -> str:
        """The value that names the license: ``license_name`` when the license is ``other``."""
        if self.license_id.lower() == "other" and self.license_name:
            return self.license_name
        return self.license_id

    def snapshot(self) -> dict[str, Any]:
        """The record as JSON-ready data, stored on the model and compared on the next refresh."""
        return asdict(self, dict_factory=lambda items: {key: _jsonable(value) for key, value in items})


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class SourceRules(Protocol):
    """What is a hub's own, for every source the registry knows, refreshed from or not."""

    name: str

    def normalize_revision(self, revision: str) -> str:
        """The revision as the registry stores it for this hub; ValidationError naming ``revision``
        when the hub has no revisions of that form."""
        ...


class UpstreamSource(SourceRules, Protocol):
    """One hub the registry refreshes from. ``fetch`` raises a ``SourceError`` subclass for every failure."""

    def fetch(self, upstream_id: str) -> UpstreamRecord: ...
