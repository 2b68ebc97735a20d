"""The ``export`` job: one run of a schedule (or an ad-hoc export), with progress per chunk of models.

It writes the document (``boms.services.write_document``: CycloneDX JSON / XML, each part validated as
it is written) or the CSV inventory (``boms.exports.inventory_csv``) to a temporary file, computes its
SHA-256 and size, signs it (``boms.exports.signing``; no key: the job fails before anything is stored),
stores the file and ``<name>.sig`` in the exports storage, records an ``ExportFile`` and applies the
schedule's retention. A run again of the same job (its worker died) replaces what an earlier attempt
stored, and a job whose file is recorded already answers with it.
"""

import hashlib
import re
import tempfile
from datetime import UTC, datetime
from typing import IO, Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from boms import services as boms
from boms.documents import Scope
from boms.export_models import ExportFile, ExportFormat
from boms.exports import inventory_csv, signing
from boms.exports.services import BEAT_ACTOR, JOB_KIND, apply_retention, export_storage
from core import changelog
from core.changelog import Actor
from core.jobs import JobRun, job_handler
from governance.exports import csv_lines

PROGRESS_EVERY = 500  # model components between progress reports (CycloneDX)
HASH_BLOCK = 1024 * 1024


def _label(scope: Scope) -> str:
    label = scope.kind if scope.kind == "organization" else f"{scope.kind}-{scope.name}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")[:120] or scope.kind


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _result(export_file: ExportFile) -> dict[str, Any]:
    return {
        "export_file": export_file.pk,
        "download_url": reverse("export-file-download", args=[export_file.pk]),
        "signature_url": reverse("export-file-signature", args=[export_file.pk]),
        "file": export_file.name,
        "filename": export_file.filename,
        "media_type": export_file.media_type,
        "bytes": export_file.size,
        "sha256": export_file.sha256,
        "models": export_file.rows,
        "schedule": export_file.schedule_id,
        "slot": export_file.slot.isoformat() if export_file.slot else None,
    }


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    while block := file.read(HASH_BLOCK):
        digest.update(block)
    return digest.hexdigest()


@job_handler(JOB_KIND)
def run_export(run: JobRun) -> dict[str, Any]:
    params = run.job.params
    done = ExportFile.objects.filter(job_id=run.job.pk).first()
    if done is not None:  # an earlier attempt got as far as recording it
        return _result(done)
    signing.private_key()  # no key (or a bad one): fail before writing anything
    scope = Scope(params["scope"], params.get("name", ""))
    export_format = ExportFormat(params["format"])
    schedule_id = params.get("schedule")
    slot = datetime.fromisoformat(params["slot"]) if params.get("slot") else None
    moment = slot or run.job.created_at
    if export_format == ExportFormat.CSV:
        filename = f"inventory-{_label(scope)}.csv"
        media_type, spec_version = "text/csv; charset=utf-8", ""
    else:
        fmt = boms.BomFormat("json" if export_format == ExportFormat.CYCLONEDX_JSON else "xml", params["version"])
        filename = boms.filename(scope, fmt)
        media_type, spec_version = fmt.media_type, fmt.spec_version
    filename = f"{_stamp(moment)}-{filename}"
    folder = f"schedule-{schedule_id}" if schedule_id else "adhoc"
    name = f"exports/{folder}/job-{run.job.pk}-{filename}"
    storage = export_storage()
    for earlier in (name, f"{name}.sig"):  # an earlier attempt's files: this run writes them anew
        if storage.exists(earlier):
            storage.delete(earlier)
    run.log(f"exporting the {scope.key} scope as {export_format.label}{f' {spec_version}' if spec_version else ''}")

    models = [0]

    def progress(done: int, total: int) -> None:
        models[0] = total
        run.progress(done=done, total=total)

    with tempfile.TemporaryFile() as partial:  # deleted on every way out, a failed validation included
        if export_format == ExportFormat.CSV:
            for line in csv_lines(inventory_csv.inventory_rows(scope, progress=progress)):
                partial.write(line.encode())
        else:
            info = boms.write_document(scope, fmt, partial, progress=progress, every=PROGRESS_EVERY)
            run.log(f"CycloneDX serial {info.serial} version {info.version}, {info.component_count} components")
        size = partial.tell()
        sha256 = _sha256(partial)
        signature = signing.sign_file(partial)
        partial.seek(0)
        stored = storage.save(name, File(partial, name=name))
    stored_signature = storage.save(f"{stored}.sig", ContentFile(signature))
    try:
        with transaction.atomic():
            export_file = ExportFile.objects.create(
                schedule_id=schedule_id, job_id=run.job.pk, slot=slot, scope=scope.kind, scope_name=scope.name,
                format=export_format, spec_version=spec_version, name=stored, signature_name=stored_signature,
                filename=filename, media_type=media_type, size=size, sha256=sha256, rows=models[0],
            )  # fmt: skip
            changelog.record(
                actor=Actor.system(BEAT_ACTOR), action="create", instance=export_file,
                after=changelog.snapshot(export_file),
            )  # fmt: skip
    except IntegrityError:  # this schedule's slot has its file already (another job made it)
        storage.delete(stored)
        storage.delete(stored_signature)
        raise
    run.log(f"stored {stored} ({size} bytes, sha256 {sha256}) and its signature {stored_signature}")
    if schedule_id:
        removed = apply_retention(schedule_id=schedule_id)
        if removed:
            run.log(f"retention removed {len(removed) // 2} older file(s): {', '.join(removed[::2])}")
    return _result(export_file)
