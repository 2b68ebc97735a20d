"""The ``bom`` job: a scope's document too large to answer inline, written to Django's default storage
as ``boms/<job id>.cdx.json`` (or ``.cdx.xml``), with progress per chunk of model components.

The document is written to a temporary file first and saved to the storage only once it is complete
and every part of it has passed validation: a failed validation fails the job (its error names the
failing paths) and the partial file is deleted with the temporary file, so the storage never holds
a document that is not valid. A job run again (its worker died) replaces what an earlier run stored.
"""

import tempfile
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.urls import reverse

from boms.documents import Scope
from boms.services import JOB_KIND, BomFormat, filename, storage_name, write_document
from core.jobs import JobRun, job_handler

PROGRESS_EVERY = 500  # model components between progress reports


@job_handler(JOB_KIND)
def write_bom_file(run: JobRun) -> dict[str, Any]:
    params = run.job.params
    scope = Scope(params["scope"], params.get("name", ""))
    fmt = BomFormat(params.get("format", "json"), params.get("version", "1.6"))
    name = storage_name(run.job.pk, fmt)
    if default_storage.exists(name):  # an earlier attempt's file: this run writes it anew
        default_storage.delete(name)
    run.log(f"writing the {scope.key} BOM as CycloneDX {fmt.spec_version} {fmt.kind.upper()}")

    def progress(done: int, total: int) -> None:
        run.progress(done=done, total=total)

    with tempfile.TemporaryFile() as partial:  # deleted on every way out, a failed validation included
        info = write_document(scope, fmt, partial, progress=progress, every=PROGRESS_EVERY)
        size = partial.tell()
        partial.seek(0)
        stored = default_storage.save(name, File(partial, name=name))
    run.log(f"stored {stored}: {info.component_count} components, {size} bytes, version {info.version}")
    return {
        "download_url": reverse("bom-file", args=[run.job.pk]),
        "file": stored,
        "media_type": fmt.media_type,
        "filename": filename(scope, fmt),
        "bytes": size,
        "scope": scope.kind,
        "name": scope.name,
        "format": fmt.kind,
        "spec_version": fmt.spec_version,
        "serial_number": info.serial,
        "version": info.version,
        "component_count": info.component_count,
    }
