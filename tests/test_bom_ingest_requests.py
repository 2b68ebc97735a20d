"""POST /api/v1/boms/, the request side: content types, versions 1.4-1.7, the size limit, the role,
?environment=, the 400s that say where (a path in the document, or the line and column), nothing
stored on a refusal, the upload and its job stored together on acceptance."""

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.boms.ingest import BodyTooLarge, read_body
from boms import validation
from boms.ingest import parsing, uploads
from boms.models import BomUpload
from core.models import Job
from tests.support.bom_ingest import (
    assert_paths_exist,
    ingest_kind,  # noqa: F401 (a fixture)
    minimal_json,
    minimal_xml,
    post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_kind")]

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "cyclonedx-examples" / "MLBOM"


def _nothing_stored() -> None:
    assert BomUpload.objects.count() == 0
    assert Job.objects.filter(kind="bom_ingest").count() == 0


@pytest.mark.smoke
def test_a_valid_document_is_stored_with_its_job_and_answered_202_with_the_jobs_location(client):
    body = minimal_json(
        metadata={"component": {"type": "application", "name": "chatbot", "bom-ref": "app"}},
        serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    )

    response = post(client, body, "application/vnd.cyclonedx+json", query="?environment=prod")

    assert response.status_code == 202, response.content
    job = Job.objects.get(kind="bom_ingest")
    upload = BomUpload.objects.get()
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert response.json()["id"] == job.pk
    assert response.json()["url"] == response["Location"]
    assert job.params == {"document_id": upload.pk, "environment": "prod"}
    assert upload.job_id == job.pk
    assert bytes(upload.content) == body
    assert upload.sha256 == hashlib.sha256(body).hexdigest()
    assert upload.size == len(body)
    assert (upload.format, upload.spec_version, upload.media_type) == ("json", "1.6", "application/vnd.cyclonedx+json")
    assert (upload.system, upload.environment) == ("chatbot", "prod")
    assert upload.serial_number == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert upload.bom_version == 1
    assert upload.actor_name.startswith("token:bom-ingest-deployer-")
    # What the applier reads back: the same document, by the same function.
    parsed = parsing.parse_document(bytes(upload.content), upload.media_type)
    assert parsed.document["metadata"]["component"]["name"] == "chatbot"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/vnd.cyclonedx+json", minimal_json()),
        ("application/json", minimal_json("1.7")),
        ("application/json; charset=utf-8", minimal_json()),
        ("application/vnd.cyclonedx+json; version=1.6", minimal_json()),
        ("application/vnd.cyclonedx+xml", minimal_xml()),
        ("application/xml", minimal_xml("1.7")),
        ("text/xml", minimal_xml()),
        ("text/xml; charset=utf-8", minimal_xml()),
    ],
)
def test_each_content_type_of_json_and_xml_is_taken(client, content_type, body):
    response = post(client, body, content_type)

    assert response.status_code == 202, response.content
    assert BomUpload.objects.get().format == ("json" if "json" in content_type else "xml")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/octet-stream",
                                          "application/json; charset=latin-1", "application/spdx+json"])  # fmt: skip
def test_another_content_type_is_415(client, content_type):
    response = post(client, minimal_json(), content_type)

    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    assert "application/vnd.cyclonedx+json" in response.json()["detail"] or "UTF-8" in response.json()["detail"]
    _nothing_stored()


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6", "1.7"])
def test_versions_14_to_17_are_read_in_json_and_xml(client, version):
    component = {"type": "library", "name": "x", "version": "1"}
    json_body = minimal_json(version, components=[component])
    xml_body = minimal_xml(version, '<components><component type="library"><name>x</name><version>1</version>'
                                    "</component></components>")  # fmt: skip

    assert post(client, json_body, "application/json").status_code == 202
    assert post(client, xml_body, "application/xml").status_code == 202
    assert sorted(BomUpload.objects.values_list("format", "spec_version")) == [("json", version), ("xml", version)]


@pytest.mark.parametrize("version", ["1.4", "1.5"])
def test_older_versions_are_checked_against_their_own_schemas(client, version):
    # 1.4 and 1.5 have no "machine-learning-model" in 1.4, and no 1.6 field "omniborId" in either.
    bad = minimal_json(version, components=[{"type": "library", "name": "x", "omniborId": ["gitoid:blob:sha1:a"]}])
    response = post(client, bad, "application/json")
    assert response.status_code == 400
    assert_paths_exist(bad, "application/json", response.json())
    xml_bad = minimal_xml(version, '<components><component type="library"><name>x</name>'
                                   "<omniborId>gitoid:blob:sha1:a</omniborId></component></components>")  # fmt: skip
    response = post(client, xml_bad, "application/xml")
    assert response.status_code == 400
    assert_paths_exist(xml_bad, "application/xml", response.json())
    _nothing_stored()


@pytest.mark.parametrize("version", ["1.3", "2.0", 1.6, None])
def test_an_unknown_spec_version_is_400_naming_specversion(client, version):
    body = json.dumps({"bomFormat": "CycloneDX", "specVersion": version, "version": 1}).encode()

    response = post(client, body, "application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/specVersion"
    _nothing_stored()


def test_an_xml_document_of_another_namespace_is_400_at_its_root(client):
    body = b'<bom xmlns="http://cyclonedx.org/schema/bom/1.3" version="1"/>'
    response = post(client, body, "application/xml")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/bom"
    assert post(client, b"<html><body/></html>", "text/xml").json()["errors"][0]["path"] == "/html"
    _nothing_stored()


def test_an_invalid_document_is_400_naming_each_failing_path_and_nothing_is_stored(client):
    body = minimal_json(components=[
        {"type": "library", "name": "ok"},
        {"type": "not-a-type", "name": "bad"},
        {"type": "library", "name": "x", "hashes": [{"alg": "SHA-256", "content": "nothex"}]},
    ])  # fmt: skip

    response = post(client, body, "application/json")

    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert {error["path"] for error in problem["errors"]} >= {
        "$.components[1].type",
        "$.components[2].hashes[0].content",
    }
    assert "$.components[" in problem["detail"]
    assert_paths_exist(body, "application/json", problem)
    _nothing_stored()


def test_an_invalid_xml_document_names_the_element_path(client):
    body = minimal_xml("1.6", '<components><component type="library"><name>a</name></component>'
                              '<component type="library"><name>b</name><hashes><hash alg="SHA-256">nothex</hash>'
                              "</hashes></component></components>")  # fmt: skip

    response = post(client, body, "application/vnd.cyclonedx+xml")

    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["path"] == "/bom/components/component[2]/hashes/hash"
    assert problem["errors"][0]["line"] == 1
    assert_paths_exist(body, "application/xml", problem)
    _nothing_stored()


@pytest.mark.parametrize("name", ["Model/OpenSource/bom.json", "Dataset/bom.json"])
def test_the_real_world_documents_with_trailing_commas_are_400_at_their_line_and_column(client, name):
    body = (EXAMPLES / name).read_bytes()
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(body)

    response = post(client, body, "application/vnd.cyclonedx+json")

    assert response.status_code == 400
    problem = response.json()
    assert (problem["line"], problem["column"]) == (caught.value.lineno, caught.value.colno)
    assert problem["errors"][0]["line"] == caught.value.lineno
    assert f"line {caught.value.lineno}, column {caught.value.colno}" in problem["detail"]
    _nothing_stored()


def test_the_valid_real_world_document_is_accepted(client):
    body = (EXAMPLES / "Model/FoundationModels/bom.json").read_bytes()
    response = post(client, body, "application/vnd.cyclonedx+json")
    assert response.status_code == 202, response.content


def test_a_document_over_the_limit_is_413_and_nothing_is_stored(client, settings):
    settings.BOM_UPLOAD_MAX_BYTES = 2048
    body = minimal_json(components=[{"type": "library", "name": "x" * 100}] * 30)
    assert len(body) > 2048

    response = post(client, body, "application/json")

    assert response.status_code == 413
    assert "BOM_UPLOAD_MAX_BYTES" in response.json()["detail"]
    _nothing_stored()
    # At the limit itself, and beyond the API's usual body limit: taken.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    fits = minimal_json(components=[{"type": "library", "name": f"{i}" + "x" * 100} for i in range(12)])
    assert 1024 < len(fits) <= 2048
    assert post(client, fits, "application/json").status_code == 202


def test_the_body_is_read_in_chunks_and_stops_past_the_limit():
    class Fake:
        def __init__(self, body: bytes, length: str) -> None:
            self.META = {"CONTENT_LENGTH": length}
            self.stream = io.BytesIO(body)
            self.asked = 0

        def read(self, size: int) -> bytes:
            self.asked += size
            return self.stream.read(size)

    class Request:
        def __init__(self, fake: Fake) -> None:
            self._request = fake

    with pytest.raises(BodyTooLarge):
        read_body(Request(Fake(b"x", "10000")), 100)  # told by Content-Length, nothing read
    lying = Fake(b"x" * 1_000_000, "")
    with pytest.raises(BodyTooLarge):
        read_body(Request(lying), 100_000)
    assert lying.stream.tell() <= 100_001
    assert read_body(Request(Fake(b"abc", "3")), 3) == b"abc"


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("auditor", 403), ("deployer", 202), ("editor", 202),
                                                ("admin", 202)])  # fmt: skip
def test_registering_a_bom_takes_the_register_capability(client, role, expected):
    response = post(client, minimal_json(), "application/json", role=role)
    assert response.status_code == expected
    assert BomUpload.objects.count() == (1 if expected == 202 else 0)


def test_anonymous_is_401(client):
    response = client.generic("POST", "/api/v1/boms/", minimal_json(), content_type="application/json")
    assert response.status_code == 401
    _nothing_stored()


@pytest.mark.parametrize(
    ("query", "field"),
    [("?environment=" + "e" * 51, "environment"), ("?environment=a%00b", "environment"), ("?env=prod", "env"),
     ("?environment=a&environment=b", "environment")],
)  # fmt: skip
def test_the_query_is_checked(client, query, field):
    body = minimal_json(metadata={"component": {"type": "application", "name": "s"}})
    response = post(client, body, "application/json", query=query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    _nothing_stored()


def test_an_environment_needs_a_system_in_the_document(client):
    response = post(client, minimal_json(), "application/json", query="?environment=prod")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "environment"
    _nothing_stored()
    # An empty environment is none.
    assert post(client, minimal_json(), "application/json", query="?environment=").status_code == 202
    assert BomUpload.objects.get().environment == ""


def test_a_system_name_longer_than_a_deployments_is_400_at_its_path(client):
    body = minimal_json(metadata={"component": {"type": "application", "name": "s" * 101}})
    response = post(client, body, "application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.metadata.component.name"
    _nothing_stored()


def test_the_upload_and_its_job_are_one_transaction(client, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(uploads, "start_job", refuse)
    with pytest.raises(RuntimeError):
        uploads.submit_bom(principal=_principal("deployer"), content=minimal_json(), media_type="application/json")
    _nothing_stored()


def _principal(role: str):
    from core.access import Principal
    from core.changelog import Actor

    return Principal(actor=Actor.system("test"), role=role)


def test_validators_are_built_once_per_process(client):
    for version in ("1.4", "1.5", "1.6", "1.7"):
        assert validation.read_validator(version) is validation.read_validator(version)
        parsing.parse_document(minimal_xml(version), "application/xml")
        built = parsing._SCHEMAS[version].schema
        parsing.parse_document(minimal_xml(version), "application/xml")
        assert parsing._SCHEMAS[version].schema is built is not None
    assert validation.read_validator("1.6") is validation.validators("1.6").document


def test_a_request_costs_a_fixed_number_of_queries(client):
    post(client, minimal_json(), "application/json")  # warm: the token, the schemas
    with CaptureQueriesContext(connection) as small:
        post(client, minimal_json(), "application/json")
    components = [{"type": "library", "name": f"c{i}", "bom-ref": f"c{i}"} for i in range(300)]
    with CaptureQueriesContext(connection) as large:
        post(client, minimal_json(components=components), "application/json")
    assert len(large.captured_queries) == len(small.captured_queries)
