"""The Hugging Face source: model info through the official ``huggingface_hub`` client.

The endpoint is ``HF_ENDPOINT`` and the token ``HF_TOKEN`` (none: anonymous). The client follows
the hub's redirect for a moved repository, so the record's id is the repository's new name.
"""

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import httpx2
from django.conf import settings
from django.core.exceptions import ValidationError
from huggingface_hub import HfApi
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.hf_api import ModelInfo
from huggingface_hub.utils import parse_ratelimit_headers

from inventory.models import EdgeOrigin, Relation, Source
from inventory.sources.base import (
    BaseModelRef,
    FileRecord,
    NotFound,
    PermanentError,
    RateLimited,
    SecurityScan,
    SourceError,
    TransientError,
    UpstreamRecord,
)
from inventory.validators import has_control_characters, validate_commit_sha

logger = logging.getLogger(__name__)

_BASE_MODEL_TAG = "base_model:"
# The relations the hub writes into ``base_model:<relation>:<id>`` tags and ``base_model_relation``.
_HUB_RELATIONS = {
    "finetune": Relation.FINETUNE,
    "adapter": Relation.ADAPTER,
    "quantized": Relation.QUANTIZED,
    "merge": Relation.MERGE,
    "distillation": Relation.DISTILLATION,
}


class HuggingFaceSource:
    """Fetches and normalizes one model's metadata, its files' digests and its security status."""

    name = Source.HUGGINGFACE

    def normalize_revision(self, revision: str) -> str:
        """A Hugging Face revision is a commit sha, stored in lower case."""
        try:
            validate_commit_sha(revision.lower())
        except ValidationError as error:
            raise ValidationError({"revision": error.messages}) from None
        return revision.lower()

    def fetch(self, upstream_id: str) -> UpstreamRecord:
        api = HfApi(endpoint=settings.HF_ENDPOINT, token=settings.HF_TOKEN or False)
        try:
            info = api.model_info(
                upstream_id,
                files_metadata=True,
                securityStatus=True,
                timeout=settings.HF_REQUEST_TIMEOUT_SECONDS,
            )
        except SourceError:
            raise
        except Exception as exc:
            raise _source_error(exc, upstream_id) from exc
        try:
            return normalize(info)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PermanentError(f"the hub's answer for {upstream_id} is not a model record: {exc!r}") from exc


def _source_error(exc: Exception, upstream_id: str) -> SourceError:
    """Map what the client raised onto the four kinds of source error."""
    if isinstance(exc, GatedRepoError):
        return PermanentError(f"the hub refused access to gated {upstream_id}: {_first_line(exc)}")
    if isinstance(exc, RepositoryNotFoundError):
        return NotFound(f"the hub has no model {upstream_id}")
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 404:
            return NotFound(f"the hub has no model {upstream_id}")
        if status == 429:
            return RateLimited(
                f"the hub rate-limited the request for {upstream_id}",
                retry_after=_retry_after_seconds(exc.response.headers),
            )
        if status >= 500 or status == 408:
            return TransientError(f"the hub answered {status} for {upstream_id}")
        if status in (401, 403):
            return PermanentError(f"the hub refused access ({status}) to {upstream_id}; check HF_TOKEN")
        return PermanentError(f"the hub answered {status} for {upstream_id}: {_first_line(exc)}")
    if isinstance(exc, httpx2.TimeoutException):
        timeout = settings.HF_REQUEST_TIMEOUT_SECONDS
        return TransientError(f"the hub did not answer within {timeout} s for {upstream_id}")
    if isinstance(exc, httpx2.TransportError):
        return TransientError(f"could not reach the hub for {upstream_id}: {type(exc).__name__}: {exc}")
    if isinstance(exc, (KeyError, TypeError)):  # valid JSON, but not the shape of a model
        return PermanentError(f"the hub's answer for {upstream_id} is not a model record: {exc!r}")
    if isinstance(exc, json.JSONDecodeError):
        return TransientError(f"the hub's answer for {upstream_id} is not valid JSON: {exc}")
    return PermanentError(f"fetching {upstream_id} failed: {type(exc).__name__}: {exc}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the hub asks us to wait: ``Retry-After`` in seconds, else the reset time of its
    ``RateLimit`` header; None when it says neither (the backoff decides then)."""
    try:
        seconds = float(headers["Retry-After"])
    except (KeyError, ValueError):  # absent, or given as a date
        limit = parse_ratelimit_headers(headers)
        return float(limit.reset_in_seconds) if limit is not None and limit.remaining == 0 else None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def normalize(info: ModelInfo) -> UpstreamRecord:
    """The registry's record of a hub model."""
    card = info.card_data.to_dict() if info.card_data is not None else {}
    base_models, ignored = _base_models(info.id, card, info.tags or [])
    return UpstreamRecord(
        upstream_id=info.id,
        revision=info.sha or "",
        license_id=_text(card.get("license")),
        license_name=_text(card.get("license_name")),
        license_link=_text(card.get("license_link")),
        gated=bool(info.gated),
        task=info.pipeline_tag or "",
        library=info.library_name or _text(card.get("library_name")),
        architecture=_architecture(info.config),
        architecture_family=_text((info.config or {}).get("model_type"))[:100],
        parameter_count=info.safetensors.total if info.safetensors else None,
        tags=tuple(info.tags or ()),
        datasets=_dataset_ids(card.get("datasets")),
        languages=_strings(card.get("language")),
        eval_results=_eval_results(info.model_index or card.get("model-index")),
        base_models=base_models,
        ignored_base_models=ignored,
        files=tuple(
            FileRecord(
                path=sibling.rfilename,
                size=sibling.lfs.size if sibling.lfs else sibling.size,
                sha256=sibling.lfs.sha256 if sibling.lfs else "",
                blob_id=sibling.blob_id or "",
            )
            for sibling in info.siblings or ()
        ),
        security=_security(info.security_repo_status),
        last_modified=info.last_modified.isoformat() if info.last_modified else "",
    )


def _text(value: Any) -> str:
    if isinstance(value, list):  # a card may list several licenses; the first is the declared one
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    return tuple(str(item) for item in values if item is not None)


def _architecture(config: dict[str, Any] | None) -> str:
    if not config:
        return ""
    architectures = config.get("architectures") or []
    return str(architectures[0]) if architectures else str(config.get("model_type") or "")


def _dataset_ids(value: Any) -> tuple[str, ...]:
    """The card's ``datasets``: each named once, in the card's order (blank or garbled entries left out)."""
    ids = [item.strip() for item in _strings(value)]
    return tuple(dict.fromkeys(item for item in ids if item and not has_control_characters(item)))


def _eval_results(model_index: Any) -> tuple[dict[str, Any], ...]:
    """The card's ``model-index`` results, one row per metric (see ``UpstreamRecord.eval_results``).

    Read from the hub's raw ``model-index`` rather than the client's parse, which drops the whole
    index when one result lacks a required key: here only a metric without a type (or name) or a
    usable value is left out, and what the card does not say stays empty, never guessed.
    """
    rows: list[dict[str, Any]] = []
    for entry in model_index if isinstance(model_index, list) else ():
        for result in (entry.get("results") if isinstance(entry, dict) else None) or ():
            if not isinstance(result, dict):
                continue
            task = _mapping(result.get("task"))
            dataset = _mapping(result.get("dataset"))
            dataset_name = _label(dataset.get("name"))
            for metric in result.get("metrics") or ():
                metric = _mapping(metric)
                name = _label(metric.get("type")) or _label(metric.get("name"))
                value = _metric_value(metric.get("value"))
                if not name or value is None:
                    continue
                verified = metric.get("verified")
                rows.append(
                    {
                        "task": _label(task.get("type")),
                        "dataset": _label(dataset.get("type")) or dataset_name,
                        "dataset_name": dataset_name,
                        "metric": name,
                        "value": value,
                        "verified": verified if isinstance(verified, bool) else None,
                    }
                )
    return tuple(rows)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _label(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _metric_value(value: Any) -> float | int | str | None:
    """A number (finite) or a non-blank string as the card gives it; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _security(status: dict[str, Any] | None) -> SecurityScan | None:
    if status is None:
        return None
    return SecurityScan(
        done=bool(status.get("scansDone")),
        files_with_issues=tuple(status.get("filesWithIssues") or ()),
    )


def _base_models(
    own_id: str, card: dict[str, Any], tags: list[str]
) -> tuple[tuple[BaseModelRef, ...], tuple[str, ...]]:
    """Base models from the hub's ``base_model:[<relation>:]<id>`` tags and the card's
    ``base_model`` (a string or a list), in that order of trust; one per id."""
    found: dict[str, BaseModelRef] = {}
    ignored: list[str] = []

    def add(upstream_id: str, relation: str, learned_from: str) -> None:
        key = upstream_id.lower()
        if not _looks_like_model_id(upstream_id):
            if upstream_id not in ignored:
                ignored.append(upstream_id)
        elif key != own_id.lower() and (key not in found or found[key].relation == Relation.OTHER):
            found[key] = BaseModelRef(upstream_id=upstream_id, relation=str(relation), learned_from=str(learned_from))

    for tag in tags:
        if not tag.startswith(_BASE_MODEL_TAG):
            continue
        relation, _, named = tag[len(_BASE_MODEL_TAG) :].rpartition(":")
        if relation:
            add(named, _HUB_RELATIONS.get(relation, Relation.OTHER), EdgeOrigin.HUB_TAGS)
    for tag in tags:  # untyped tags only where no typed one named the model
        rest = tag[len(_BASE_MODEL_TAG) :] if tag.startswith(_BASE_MODEL_TAG) else None
        if rest is not None and ":" not in rest and rest.lower() not in found:
            add(rest, Relation.OTHER, EdgeOrigin.HUB_TAGS)
    card_relation = _HUB_RELATIONS.get(_text(card.get("base_model_relation")).lower(), Relation.OTHER)
    for named in _strings(card.get("base_model")):
        if named.lower() not in found:
            add(named.strip(), card_relation, EdgeOrigin.MODEL_CARD)
    return tuple(found.values()), tuple(ignored)


# A hub repository id: ASCII letters, digits, "-", "_" and "." on each side of one slash.
_HUB_MODEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}")


def _looks_like_model_id(value: str) -> bool:
    return _HUB_MODEL_ID.fullmatch(value) is not None
