"""Services for revisions and their artifacts."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core import changelog
from core.changelog import Actor
from inventory.models import PICKLE_BASED_FORMATS, AIModel, Artifact, ArtifactFormat, Revision, Source
from inventory.services._common import create_validated
from inventory.validators import validate_commit_sha

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
class ArtifactInput:
    """A file of a revision as a source or a client reports it."""

    path: str
    size: int | None = None
    sha256: str = ""


def add_revision(
    *,
    actor: Actor,
    model: AIModel,
    revision: str,
    artifacts: Sequence[ArtifactInput] = (),
    scan_done: bool | None = None,
    scan_issues: Sequence[dict[str, Any]] = (),
) -> tuple[Revision, bool]:
    """Record a revision with its files and the hub's scan of them, or return the one already
    recorded (``created`` False).

    Hugging Face revisions are commit shas; an artifact's format and pickle-based flag follow from
    its file name.
    """
    if model.source == Source.HUGGINGFACE:
        revision = revision.lower()
        try:
            validate_commit_sha(revision)
        except ValidationError as error:
            raise ValidationError({"revision": error.messages}) from None
    paths = [artifact.path for artifact in artifacts]
    if len(set(paths)) != len(paths):
        raise ValidationError({"artifacts": "each file path may appear once"})
    with transaction.atomic(savepoint=False):
        existing = Revision.objects.filter(model=model, revision=revision).first()
        if existing is not None:
            return existing, False
        pinned = create_validated(
            actor=actor,
            instance=Revision(model=model, revision=revision, scan_done=scan_done, scan_issues=list(scan_issues)),
        )
        files = [_artifact(pinned, artifact) for artifact in artifacts]
        Artifact.objects.bulk_create(files)
        changelog.record_many(
            [
                changelog.entry(
                    actor=actor, action="create", instance=file, before=None, after=changelog.snapshot(file)
                )
                for file in files
            ]
        )
        return pinned, True


def _artifact(revision: Revision, artifact: ArtifactInput) -> Artifact:
    """A validated, unsaved artifact; its format and pickle-based flag follow from its path."""
    file_format = artifact_format(artifact.path)
    row = Artifact(
        revision=revision,
        path=artifact.path,
        size=artifact.size,
        sha256=artifact.sha256.lower(),
        format=file_format,
        pickle_based=file_format in PICKLE_BASED_FORMATS,
    )
    try:
        row.full_clean(exclude=["revision"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ValidationError({f"artifacts.{artifact.path}": error.messages}) from None
    return row
