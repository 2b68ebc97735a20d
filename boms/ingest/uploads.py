"""Accepting a CycloneDX document: checked in the request, stored with its job in one transaction.

``submit_bom`` is what ``POST /api/v1/boms/`` calls once it has the body's bytes (the API reads them
within ``BOM_UPLOAD_MAX_BYTES``): the caller must be allowed to register (deployers, editors,
admins); the document must parse and pass its schema (``parsing.parse_document``, ``BomRejected``
otherwise, and nothing is stored); then the ``BomUpload`` and the ``bom_ingest`` job that applies it
(params ``{"document_id": <upload id>, "environment": <the query's environment or "">}``) are
created in one transaction, so there is never an upload without its job or a job without its upload.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from boms.ingest.parsing import ParsedBom, parse_document
from boms.models import BomUpload
from core.access import Capability, Principal
from core.jobs import start_job
from core.models import Job

INGEST_JOB_KIND = "bom_ingest"


@dataclass(frozen=True)
class Submitted:
    upload: BomUpload
    job: Job
    parsed: ParsedBom


def submit_bom(*, principal: Principal, content: bytes, media_type: str, environment: str = "") -> Submitted:
    """Validate a document and start applying it; see the module. Raises ``PermissionDenied``,
    ``parsing.UnsupportedMediaType``, ``parsing.BomRejected``, and ``ValidationError`` on
    ``environment`` when one is given for a document that names no system (``metadata.component``)."""
    if not principal.can(Capability.REGISTER):
        raise PermissionDenied(f"your role ({principal.role}) may not register BOMs")
    parsed = parse_document(content, media_type)
    if environment and not parsed.system:
        raise ValidationError(
            {"environment": "the document names no system (metadata.component with a name) to deploy in it"}
        )
    with transaction.atomic():
        upload = BomUpload.objects.create(
            actor_name=principal.actor.name,
            media_type=parsed.media_type,
            format=parsed.format,
            spec_version=parsed.spec_version,
            serial_number=parsed.serial_number[:100],
            bom_version=parsed.bom_version if parsed.bom_version is not None and parsed.bom_version < 2**31 else None,
            sha256=parsed.sha256,
            size=parsed.size,
            content=content,
            system=parsed.system,
            environment=environment,
        )
        job = start_job(
            actor=principal.actor,
            kind=INGEST_JOB_KIND,
            params={"document_id": upload.pk, "environment": environment},
            requested_by=principal.person,
        )
        upload.job = job
        upload.save(update_fields=["job"])
    return Submitted(upload=upload, job=job, parsed=parsed)
