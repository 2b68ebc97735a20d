"""Serving BOMs: what the API and the portal call to answer a request for a scope's document.

A request names a scope (``boms.documents.Scope``) and a format (JSON or XML, CycloneDX 1.6 or 1.7).
``produce_bom`` counts the scope's models with one count query; up to ``settings.BOM_INLINE_MAX_MODELS``
of them, the document is written at once (``InlineBom``), else it becomes a Job (kind ``bom``,
``boms.jobs``) that writes the file to Django's default storage under ``boms/<job id>.<ext>``, and the
caller follows the job to its download.

An inline document is written whole before its first byte is sent: into a spooled temporary file (in
memory up to ``SPOOL_BYTES``, on disk beyond), validated as the writers validate (JSON: whole up to
1,000 components, else header, each component and the graph as they stream; XML: outer document and
component batches). So a document that fails validation is a clean error (the API's 500 problem, the
portal's 500 page), never a response cut off half way; the cost is the time to the first byte, which
for the inline limit (5,000 models) stays a few seconds.
"""

import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count

from boms import documents
from boms.documents import BomInfo, Scope, ScopeNotFound, open_document
from boms.validation import SPEC_VERSIONS
from boms.xml import write_xml
from core.access import Capability, Principal
from core.jobs import start_job
from core.models import Job
from inventory.models import AIModel, Deployment

JOB_KIND = "bom"
FORMATS = ("json", "xml")
DEFAULT_FORMAT = "json"
DEFAULT_VERSION = "1.6"
SPOOL_BYTES = 8 * 1024 * 1024  # an inline document is held in memory up to this size, then on disk
EXTENSIONS = {"json": "cdx.json", "xml": "cdx.xml"}
REQUEST_SCOPES = ("organization", "system", "team", "environment")  # ``?scope=`` (a model has its own route)
NAMED_SCOPES = ("system", "team", "environment")

__all__ = ["BomFileNotReady", "BomFormat", "InlineBom", "ScopeNotFound", "produce_bom", "stored_bom"]


class BomFileNotReady(LookupError):
    """No stored BOM for that job: not a BOM job, not finished (or failed), or its file is gone."""


class UnacceptableFormat(ValueError):
    """None of the media types the client accepts is a BOM format this registry writes."""


@dataclass(frozen=True)
class BomFormat:
    """How a document is written: ``kind`` ``json`` or ``xml``, CycloneDX ``spec_version`` 1.6 or 1.7."""

    kind: str = DEFAULT_FORMAT
    spec_version: str = DEFAULT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in FORMATS:
            raise ValueError(f"unknown BOM format {self.kind!r}; expected one of {', '.join(FORMATS)}")
        if self.spec_version not in SPEC_VERSIONS:
            raise ValueError(f"unsupported CycloneDX version {self.spec_version!r}")

    @property
    def media_type(self) -> str:
        """The response's Content-Type: ``application/vnd.cyclonedx+json; version=1.6``."""
        return f"application/vnd.cyclonedx+{self.kind}; version={self.spec_version}"

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


# --- content negotiation ---------------------------------------------------------------------------

_CYCLONEDX = re.compile(r"application/vnd\.cyclonedx\+(json|xml)")


def _media_ranges(accept: str) -> Iterator[tuple[float, int, str, dict[str, str]]]:
    for position, item in enumerate(accept.split(",")):
        media, *raw_parameters = (part.strip() for part in item.split(";"))
        parameters = {}
        for raw in raw_parameters:
            key, _, value = raw.partition("=")
            parameters[key.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(parameters.pop("q", "1"))
        except ValueError:
            quality = 0.0  # a malformed weight: as if not acceptable
        if media:
            yield quality, position, media.lower(), parameters


def _format_of(media: str, parameters: dict[str, str]) -> BomFormat | None:
    found = _CYCLONEDX.fullmatch(media)
    if found:
        version = parameters.get("version", DEFAULT_VERSION)
        return BomFormat(found.group(1), version) if version in SPEC_VERSIONS else None
    if media in ("application/json", "application/*", "*/*"):
        return BomFormat()  # plain JSON and wildcards: CycloneDX JSON 1.6
    return None


def negotiate(accept: str | None) -> BomFormat:
    """The format an ``Accept`` header asks for: the acceptable media range of the highest weight
    (the first of equal ones); no header, ``*/*`` or ``application/json`` is JSON 1.6. Raises
    ``UnacceptableFormat`` when nothing acceptable is a format written here (CycloneDX 1.5, text/html)."""
    if not accept or not accept.strip():
        return BomFormat()
    ranked = sorted(_media_ranges(accept), key=lambda item: (-item[0], item[1]))
    for quality, _, media, parameters in ranked:
        if quality <= 0:
            continue
        chosen = _format_of(media, parameters)
        if chosen is not None:
            return chosen
    raise UnacceptableFormat(
        "no acceptable BOM format: this registry writes application/vnd.cyclonedx+json and "
        f"application/vnd.cyclonedx+xml with version={' or '.join(SPEC_VERSIONS)} (application/json: JSON "
        f"{DEFAULT_VERSION}); Accept was {accept!r}"
    )


# --- scopes ----------------------------------------------------------------------------------------


def models_in_scope(scope: Scope) -> int:
    """How many models the scope names, with one count query (a model scope: one, after checking it
    exists). The registered ancestors a document adds are not counted: finding them walks the
    lineage, which is the document's work, not the choice's."""
    if scope.kind == "model":
        if not scope.name.isdigit() or not AIModel.objects.filter(pk=int(scope.name)).exists():
            raise ScopeNotFound(f"no model #{scope.name}")
        return 1
    if scope.kind == "organization":
        return AIModel.objects.count()
    if scope.kind == "team":
        return AIModel.objects.filter(team=scope.name).count()
    deployed = Deployment.objects.filter(active=True, **{scope.kind: scope.name})
    # One component per model and deployed revision (the document's members).
    return deployed.aggregate(n=Count("revision_id", distinct=True))["n"]


def filename(scope: Scope, fmt: BomFormat) -> str:
    """The download's file name: ``bom-system-support-bot.cdx.json`` (names reduced to safe characters)."""
    label = scope.kind if scope.kind == "organization" else f"{scope.kind}-{scope.name}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or scope.kind
    return f"bom-{safe[:120]}-{fmt.spec_version}.{fmt.extension}"


# --- writing ---------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]  # (models written, models in the document)


def write_document(
    scope: Scope, fmt: BomFormat, out: BinaryIO, *, progress: Progress | None = None, every: int = 0
) -> BomInfo:
    """Write the scope's document to ``out``, each part validated (a small JSON document whole,
    before its first byte). With ``progress``, ``progress(done, total)`` is called every ``every``
    model components (default: each loading chunk) and at the end. Raises ``BomInvalid`` /
    ``XmlValidationError`` with ``out`` holding part of a document: the caller discards it."""
    document = open_document(scope, fmt.spec_version)
    total = len(document.members) + len(document.ancestors_only)
    every = every or document.chunk_size
    components = _reporting(document.components(), total, progress, every) if progress else document.components()
    if progress:
        progress(0, total)
    if fmt.kind == "xml":
        write_xml(out, document.header, components, dependencies=document.dependencies, version=fmt.spec_version)
    else:
        documents.write_json(out, document, components)
    if progress:
        progress(total, total)
    return document.info


def _reporting(components: Iterator[dict[str, Any]], total: int, progress: Progress, every: int) -> Iterator[dict]:
    done = 0
    for component in components:
        yield component
        if component.get("type") == "machine-learning-model":  # the models, before the datasets
            done += 1
            if done % every == 0 and done < total:
                progress(done, total)


@dataclass
class InlineBom:
    """A document written whole and validated, ready to send: ``file`` is at its start."""

    file: IO[bytes]
    info: BomInfo
    format: BomFormat
    filename: str
    size: int


@dataclass
class BomOutcome:
    """What ``produce_bom`` did: the document (``inline``), or the job writing it (``job``)."""

    inline: InlineBom | None = None
    job: Job | None = None
    models: int = 0


def _check_reader(principal: Principal) -> None:
    if not principal.can(Capability.READ):
        raise PermissionDenied(f"your role ({principal.role}) may not read BOMs")


def write_inline(scope: Scope, fmt: BomFormat) -> InlineBom:
    """The whole document, validated, in a spooled temporary file (closed and dropped on failure)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (handed to the response)
    try:
        info = write_document(scope, fmt, spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return InlineBom(file=spool, info=info, format=fmt, filename=filename(scope, fmt), size=size)


def start_bom_job(*, principal: Principal, scope: Scope, fmt: BomFormat) -> Job:
    """Start the job that writes the scope's document to storage (``boms.jobs``)."""
    _check_reader(principal)
    params = {"scope": scope.kind, "name": scope.name, "format": fmt.kind, "version": fmt.spec_version}
    return start_job(actor=principal.actor, kind=JOB_KIND, params=params, requested_by=principal.person)


def produce_bom(*, principal: Principal, scope: Scope, fmt: BomFormat) -> BomOutcome:
    """A scope of up to ``BOM_INLINE_MAX_MODELS`` models: its document, written and validated now;
    a larger one: a started job. Raises ``ScopeNotFound`` for a model not in the inventory, and
    ``BomInvalid`` / ``XmlValidationError`` when the document fails validation (an error of the
    registry's, nothing sent)."""
    _check_reader(principal)
    count = models_in_scope(scope)
    if count > settings.BOM_INLINE_MAX_MODELS:
        return BomOutcome(job=start_bom_job(principal=principal, scope=scope, fmt=fmt), models=count)
    return BomOutcome(inline=write_inline(scope, fmt), models=count)


# --- stored files (the jobs') ----------------------------------------------------------------------


def storage_name(job_id: int, fmt: BomFormat) -> str:
    return f"boms/{job_id}.{fmt.extension}"


@dataclass
class StoredBom:
    file: IO[bytes]
    media_type: str
    filename: str


def stored_bom(*, principal: Principal, job_id: int) -> StoredBom:
    """The file a succeeded BOM job stored, opened; ``BomFileNotReady`` when there is none (yet)."""
    _check_reader(principal)
    job = Job.objects.filter(pk=job_id, kind=JOB_KIND).only("state", "result").first()
    if job is None:
        raise BomFileNotReady(f"no BOM job #{job_id}")
    if job.state != Job.State.SUCCEEDED or not job.result:
        raise BomFileNotReady(f"BOM job #{job_id} is {job.state}: its file is there once it has succeeded")
    try:
        opened = default_storage.open(job.result["file"], "rb")
    except FileNotFoundError:
        raise BomFileNotReady(f"the file of BOM job #{job_id} is missing from the storage") from None
    return StoredBom(file=opened, media_type=job.result["media_type"], filename=job.result["filename"])
