"""Services for revisions and their artifacts."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core import changelog, events
from core.changelog import Actor
from inventory.events import RevisionAdded
from inventory.models import PICKLE_BASED_FORMATS, AIModel, Artifact, ArtifactFormat, Revision
from inventory.sources import rules_for
from inventory.sources.base import FileRecord

_FORMAT_BY_SUFFIX = {
    ".safetensors": ArtifactFormat.SAFETENSORS,
    ".gguf": ArtifactFormat.GGUF,
    ".onnx": ArtifactFormat.ONNX,
    ".bin": ArtifactFormat.PYTORCH_PICKLE,
    ".pt": ArtifactFormat.PYTORCH_PICKLE,
    ".pth": ArtifactFormat.PYTORCH_PICKLE,
    ".ckpt": ArtifactFormat.PYTORCH_PICKLE,
    ".pkl": ArtifactFormat.PICKLE,
    ".pickle": ArtifactFormat.PICKLE,
    ".joblib": ArtifactFormat.PICKLE,
    ".h5": ArtifactFormat.KERAS,
    ".keras": ArtifactFormat.KERAS,
}


def artifact_format(path: str) -> ArtifactFormat:
    """The serialization format a file's extension tells."""
    return _FORMAT_BY_SUFFIX.get(PurePosixPath(path).suffix.lower(), ArtifactFormat.OTHER)


@dataclass(frozen=True)
class RevisionInput:
    """A revision to record: its model, its id, its files, and the hub's scan of them."""

    model: AIModel
    revision: str
    artifacts: Sequence[FileRecord] = ()
    scan_done: bool | None = None
    scan_issues: Sequence[dict[str, Any]] = ()


def add_revision(
    *,
    actor: Actor,
    model: AIModel,
    revision: str,
    artifacts: Sequence[FileRecord] = (),
    scan_done: bool | None = None,
    scan_issues: Sequence[dict[str, Any]] = (),
) -> tuple[Revision, bool]:
    """Record a revision with its files and the hub's scan of them, or return the one already
    recorded (``created`` False).

    Hugging Face revisions are commit shas; an artifact's format and pickle-based flag follow from
    its file name.
    """
    wanted = RevisionInput(model, revision, artifacts, scan_done, scan_issues)
    return add_revisions(actor=actor, wanted=[wanted])[0]


def add_revisions(*, actor: Actor, wanted: Sequence[RevisionInput]) -> list[tuple[Revision, bool]]:
    """``add_revision`` for many revisions at once, in a fixed number of queries. A revision
    recorded before gets the files it lacks, and the blob ids its recorded files lack (files
    recorded before blob ids were)."""
    keyed = [((item.model.pk, _revision_id(item)), item) for item in wanted]
    with transaction.atomic(savepoint=False):
        candidates = Revision.objects.filter(
            model_id__in={key[0] for key, _ in keyed}, revision__in={key[1] for key, _ in keyed}
        )
        recorded = {(row.model_id, row.revision): row for row in candidates}
        new: dict[tuple[int, str], tuple[Revision, RevisionInput]] = {}
        for key, item in keyed:
            if key not in recorded and key not in new:
                new[key] = (_revision(item, key[1]), item)
        rows = [row for row, _ in new.values()]
        Revision.objects.bulk_create(rows)
        files = [_artifact(row, artifact) for row, item in new.values() for artifact in item.artifacts]
        missing, filled = _missing_files(recorded, keyed)
        files += missing
        Artifact.objects.bulk_create(files)
        Artifact.objects.bulk_update([file for file, _ in filled], ["blob_id"])
        changelog.record_many(
            [
                *changelog.creations(actor=actor, instances=[*rows, *files]),
                *(
                    changelog.update(actor=actor, instance=file, before=before, message="the hub's blob id")
                    for file, before in filled
                ),
            ]
        )
        files_of: dict[int, list[Artifact]] = defaultdict(list)
        for file in files:
            files_of[id(file.revision)].append(file)
        events.record(actor=actor, events=[_added(row, files_of[id(row)]) for row in rows])
        return [(new[key][0], True) if key in new else (recorded[key], False) for key, _ in keyed]


def _added(revision: Revision, files: Sequence[Artifact]) -> RevisionAdded:
    artifacts = [
        {
            "path": file.path,
            "size": file.size,
            "sha256": file.sha256,
            "blob_id": file.blob_id,
            "format": file.format,
            "pickle_based": file.pickle_based,
        }
        for file in files
    ]
    return RevisionAdded(revision.model_id, revision.pk, revision.revision, artifacts)


def _missing_files(
    recorded: dict[tuple[int, str], Revision], keyed: list[tuple[tuple[int, str], RevisionInput]]
) -> tuple[list[Artifact], list[tuple[Artifact, dict[str, Any]]]]:
    """Files of revisions recorded before without them (a client named the sha; a hub lists its
    files later): the ones not recorded yet; and recorded files without a blob id that the input
    gives one, with their snapshots before (to fill in). Nothing else of a recorded file changes."""
    known = [(recorded[key], item) for key, item in keyed if key in recorded and item.artifacts]
    if not known:
        return [], []
    have = {
        (file.revision_id, file.path): file for file in Artifact.objects.filter(revision__in=[row for row, _ in known])
    }
    missing, filled = [], []
    for row, item in known:
        for artifact in item.artifacts:
            file = have.get((row.pk, artifact.path))
            if file is None:
                missing.append(_artifact(row, artifact))
            elif not file.blob_id and artifact.blob_id:
                before = changelog.snapshot(file)
                file.blob_id = _artifact(row, artifact).blob_id  # validated as a new file's would be
                filled.append((file, before))
    return missing, filled


def _revision(item: RevisionInput, revision: str) -> Revision:
    """A validated, unsaved revision (the database checks its model and uniqueness)."""
    row = Revision(model=item.model, revision=revision, scan_done=item.scan_done, scan_issues=list(item.scan_issues))
    row.full_clean(exclude=["model"], validate_unique=False, validate_constraints=False)
    return row


def stored_revision(model: AIModel, revision: str) -> str:
    """The revision as it is stored for the model's source (a lowercase commit sha for Hugging Face);
    ValidationError naming ``revision`` when the source has no revisions of that form."""
    return rules_for(model.source).normalize_revision(revision)


def _revision_id(item: RevisionInput) -> str:
    """The revision as stored; its files listed once each."""
    paths = [artifact.path for artifact in item.artifacts]
    if len(set(paths)) != len(paths):
        raise ValidationError({"artifacts": "each file path may appear once"})
    return stored_revision(item.model, item.revision)


def _artifact(revision: Revision, artifact: FileRecord) -> Artifact:
    """A validated, unsaved artifact; its format and pickle-based flag follow from its path."""
    file_format = artifact_format(artifact.path)
    row = Artifact(
        revision=revision,
        path=artifact.path,
        size=artifact.size,
        sha256=artifact.sha256.lower(),
        blob_id=artifact.blob_id.lower(),
        format=file_format,
        pickle_based=file_format in PICKLE_BASED_FORMATS,
    )
    try:
        row.full_clean(exclude=["revision"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ValidationError({f"artifacts.{artifact.path}": error.messages}) from None
    return row
