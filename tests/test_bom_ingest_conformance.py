"""BOM ingest over the specification's own test documents (``../shared/conformance/cyclonedx/``),
the request side: every ``valid-*`` document of 1.6 and 1.7, JSON and XML, is accepted (202, stored
with its job); every ``invalid-*`` one is a 400 whose errors each name a path that exists in the
document sent, and the database is unchanged."""

from pathlib import Path

import pytest

from boms.models import BomUpload
from core.models import ChangeLogEntry, Job
from tests.support.bom_ingest import assert_paths_exist, ingest_kind, post, token  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_kind")]

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "cyclonedx"
CONTENT_TYPES = {".json": "application/vnd.cyclonedx+json", ".xml": "application/vnd.cyclonedx+xml"}


def _documents(prefix: str) -> list[Path]:
    return sorted(path for version in ("1.6", "1.7") for path in (SHARED / version).glob(f"{prefix}-*.*"))


VALID = _documents("valid")
INVALID = _documents("invalid")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_the_corpus_is_there():
    assert len(VALID) > 200
    assert len(INVALID) > 100
    assert {path.suffix for path in VALID} == {path.suffix for path in INVALID} == {".json", ".xml"}


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_every_valid_document_is_accepted(client, path):
    content = path.read_bytes()

    response = post(client, content, CONTENT_TYPES[path.suffix])

    assert response.status_code == 202, response.content[:2000]
    upload = BomUpload.objects.get()
    assert upload.spec_version == path.parent.name
    assert upload.format == path.suffix[1:]
    assert bytes(upload.content) == content
    assert Job.objects.get(kind="bom_ingest").params["document_id"] == upload.pk


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_every_invalid_document_is_refused_naming_a_path_in_it_and_nothing_changes(client, path):
    content = path.read_bytes()
    secret = token()
    changes_before = ChangeLogEntry.objects.count()

    response = post(client, content, CONTENT_TYPES[path.suffix], secret=secret)

    assert response.status_code == 400, response.content[:2000]
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert_paths_exist(content, path.suffix, problem)
    assert problem["errors"][0]["path"] in problem["detail"]
    assert BomUpload.objects.count() == 0
    assert Job.objects.count() == 0
    assert ChangeLogEntry.objects.count() == changes_before
