"""The BOM API: a model's and a scope's CycloneDX documents by content negotiation, inline up to
BOM_INLINE_MAX_MODELS models and as a job beyond, and the job's stored file."""

import json
from typing import Any

import pytest
from cyclonedx.model.bom import Bom
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boms import components as build
from boms import services
from boms.documents import Scope
from boms.validation import validate
from boms.xml import validate_xml
from core.changelog import Actor
from core.jobs import run_job
from core.models import Job
from core.tokens import issue_token
from inventory.models import AIModel, Deployment, License
from inventory.services import revisions
from tests import inventory_helpers as inv

pytestmark = [pytest.mark.django_db]

JSON_16 = "application/vnd.cyclonedx+json; version=1.6"


@pytest.fixture
def api(client):
    secret = issue_token(actor=Actor.system("test"), name="bom-reader", role="viewer").secret

    def get(url: str, accept: str | None = None, **params: Any):
        headers = {"Authorization": f"Bearer {secret}"}
        if accept is not None:
            headers["Accept"] = accept
        return client.get(url, params, headers=headers)

    return get


@pytest.fixture
def inventory(settings, tmp_path) -> dict[str, Any]:
    """A base model and a fine-tune of it in team "search", deployed in system "bot" (prod), a third elsewhere."""
    settings.MEDIA_ROOT = tmp_path
    owner = inv.publisher("Acme", "FR")
    base = inv.model("acme/base", owner, License.objects.get(key="Apache-2.0"))
    tuned = inv.model("acme/tuned", owner)
    inv.derive_from(tuned, "acme/base")
    other = inv.model("acme/other", owner)
    AIModel.objects.filter(pk__in=[tuned.pk, other.pk]).update(team="search")
    pinned, _ = revisions.add_revision(actor=inv.ACTOR, model=tuned, revision="b" * 40)
    now = timezone.now()
    Deployment.objects.create(revision=pinned, system="bot", environment="prod", first_seen=now, last_seen=now)
    return {"base": base, "tuned": tuned, "other": other}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def json_document(response) -> dict[str, Any]:
    document = json.loads(body_of(response))
    validate(document, document["specVersion"])
    Bom.from_json(document)  # the library reads it back
    return document


def purls(document: dict[str, Any]) -> set[str]:
    return {c["purl"] for c in document["components"] if c["type"] == "machine-learning-model"}


@pytest.mark.smoke
def test_a_models_bom_is_cyclonedx_json_16_by_default_with_its_ancestor_as_a_top_level_component(api, inventory):
    response = api(f"/api/v1/models/{inventory['tuned'].pk}/bom/")

    assert response.status_code == 200
    assert response["Content-Type"] == JSON_16
    assert response["Content-Disposition"] == f'attachment; filename="bom-model-{inventory["tuned"].pk}-1.6.cdx.json"'
    document = json_document(response)
    assert document["specVersion"] == "1.6"
    assert {p.split("@")[0] for p in purls(document)} == {"pkg:huggingface/acme/tuned", "pkg:huggingface/acme/base"}
    assert int(response["Content-Length"]) == len(body_of(api(f"/api/v1/models/{inventory['tuned'].pk}/bom/")))


@pytest.mark.parametrize(
    ("accept", "media_type", "version"),
    [
        (None, JSON_16, "1.6"),
        ("*/*", JSON_16, "1.6"),
        ("application/json", JSON_16, "1.6"),
        ("application/vnd.cyclonedx+json", JSON_16, "1.6"),
        ("application/vnd.cyclonedx+json; version=1.6", JSON_16, "1.6"),
        ("application/vnd.cyclonedx+json; version=1.7", "application/vnd.cyclonedx+json; version=1.7", "1.7"),
        ('application/vnd.cyclonedx+json;version="1.7"', "application/vnd.cyclonedx+json; version=1.7", "1.7"),
        ("application/vnd.cyclonedx+json; version=1.5, */*;q=0.1", JSON_16, "1.6"),
    ],
)
def test_json_by_accept(api, inventory, accept, media_type, version):
    response = api("/api/v1/boms/", accept, scope="system", name="bot")

    assert response.status_code == 200, body_of(response)[:500]
    assert response["Content-Type"] == media_type
    document = json_document(response)
    assert document["specVersion"] == version
    assert document["metadata"]["component"]["bom-ref"] == "system:bot"
    assert purls(document) == {"pkg:huggingface/acme/tuned@" + "b" * 40, "pkg:huggingface/acme/base"}


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_xml_by_accept_is_valid_against_the_xsd(api, inventory, version):
    response = api("/api/v1/boms/", f"application/vnd.cyclonedx+xml; version={version}", scope="team", name="search")

    assert response.status_code == 200, body_of(response)[:500]
    assert response["Content-Type"] == f"application/vnd.cyclonedx+xml; version={version}"
    assert response["Content-Disposition"].endswith(f'filename="bom-team-search-{version}.cdx.xml"')
    data = body_of(response)
    validate_xml(data, version)
    assert f'xmlns="http://cyclonedx.org/schema/bom/{version}"'.encode() in data
    assert b"pkg:huggingface/acme/tuned" in data
    assert b"pkg:huggingface/acme/other" in data


@pytest.mark.parametrize(
    "accept",
    ["application/vnd.cyclonedx+json; version=1.5", "application/vnd.cyclonedx+xml; version=1.4", "text/html",
     "application/vnd.cyclonedx+json; version=1.7; q=0"],
)  # fmt: skip
def test_an_unsupported_format_or_version_is_406_problem(api, inventory, accept):
    response = api(f"/api/v1/models/{inventory['base'].pk}/bom/", accept)

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"
    assert "version=1.6 or 1.7" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "scope"),
        ({"scope": "galaxy"}, "scope"),
        ({"scope": "system"}, "name"),
        ({"scope": "team", "name": ""}, "name"),
        ({"scope": "organization", "name": "x"}, "name"),
        ({"scope": "organization", "colour": "red"}, "colour"),
        ({"scope": "environment", "name": "a\x00b"}, "name"),
    ],
)
def test_a_missing_or_unknown_parameter_is_400_naming_it(api, inventory, params, field):
    response = api("/api/v1/boms/", **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize("pk", ["999999", "9223372036854775808", "abc"])
def test_a_model_not_found_is_404(api, inventory, pk):
    response = api(f"/api/v1/models/{pk}/bom/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_system_is_a_valid_empty_document_and_the_organization_has_every_model(api, inventory):
    empty = json_document(api("/api/v1/boms/", scope="environment", name="nowhere"))
    everything = json_document(api("/api/v1/boms/", scope="organization"))

    assert empty.get("components", []) == []
    assert len(purls(everything)) == 3


def test_the_models_in_scope_are_counted_with_one_query(inventory):
    for scope, expected in [(Scope("system", "bot"), 1), (Scope("team", "search"), 2), (Scope.organization(), 3)]:
        with CaptureQueriesContext(connection) as queries:
            assert services.models_in_scope(scope) == expected
        assert len(queries) == 1


def test_a_scope_over_the_inline_limit_is_a_job_whose_file_downloads_valid(api, inventory, settings):
    settings.BOM_INLINE_MAX_MODELS = 2

    response = api("/api/v1/boms/", "application/vnd.cyclonedx+json; version=1.7", scope="organization")

    assert response.status_code == 202
    job = Job.objects.get(kind="bom")
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert response.json()["params"] == {"scope": "organization", "name": "", "format": "json", "version": "1.7"}
    assert api(f"/api/v1/boms/files/{job.pk}/").status_code == 404  # not run yet

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.progress_total == 3
    assert job.progress_done == 3
    assert job.result["download_url"] == f"/api/v1/boms/files/{job.pk}/"
    assert default_storage.exists(f"boms/{job.pk}.cdx.json")
    seen = api(f"/api/v1/jobs/{job.pk}/").json()
    assert seen["result"]["download_url"] == job.result["download_url"]
    download = api(job.result["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.cyclonedx+json; version=1.7"
    assert download["Content-Disposition"] == 'attachment; filename="bom-organization-1.7.cdx.json"'
    document = json_document(download)
    assert document["specVersion"] == "1.7"
    assert len(purls(document)) == 3
    assert job.result["component_count"] == len(document["components"])


def test_a_model_over_the_limit_is_a_job_too_and_xml_jobs_store_xml(api, inventory, settings):
    settings.BOM_INLINE_MAX_MODELS = 0  # (the setting's minimum is 1; lowered here so one model is too many)

    response = api(f"/api/v1/models/{inventory['tuned'].pk}/bom/", "application/vnd.cyclonedx+xml")
    assert response.status_code == 202
    job = Job.objects.get(kind="bom")
    run_job(job_id=job.pk)

    download = api(f"/api/v1/boms/files/{job.pk}/")
    assert download.status_code == 200, Job.objects.get(pk=job.pk).error
    assert download["Content-Type"] == "application/vnd.cyclonedx+xml; version=1.6"
    validate_xml(body_of(download), "1.6")
    assert Job.objects.get(pk=job.pk).progress_done == 2  # the model and its base


def _invalid_component(monkeypatch):
    real = build.model_component

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        component = real(*args, **kwargs)
        return {**component, "hashes": [{"alg": "SHA-256", "content": "not a digest"}]}

    monkeypatch.setattr(build, "model_component", broken)


def test_a_job_whose_document_fails_validation_fails_and_leaves_no_file(api, inventory, settings, monkeypatch):
    settings.BOM_INLINE_MAX_MODELS = 1
    assert api("/api/v1/boms/", scope="organization").status_code == 202
    job = Job.objects.get(kind="bom")
    _invalid_component(monkeypatch)

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "BomInvalid" in job.error
    assert "hashes" in job.error
    assert not default_storage.exists(f"boms/{job.pk}.cdx.json")
    assert not any((settings.MEDIA_ROOT / "boms").glob("*"))  # nor any other file
    assert api(f"/api/v1/boms/files/{job.pk}/").status_code == 404


def test_an_inline_document_failing_validation_is_a_clean_500_problem(api, inventory, monkeypatch):
    _invalid_component(monkeypatch)

    for accept in (None, "application/vnd.cyclonedx+xml"):
        response = api("/api/v1/boms/", accept, scope="team", name="search")

        assert response.status_code == 500
        assert response["Content-Type"] == "application/problem+json"
        assert "could not write a valid CycloneDX document" in response.json()["detail"]


def test_a_file_of_another_kind_of_job_or_no_job_is_404(api, inventory):
    from core.jobs import start_job

    other = start_job(actor=Actor.system("test"), kind="worker_check")
    run_job(job_id=other.pk)

    assert api(f"/api/v1/boms/files/{other.pk}/").status_code == 404
    assert api("/api/v1/boms/files/999999/").status_code == 404
    assert api("/api/v1/boms/files/99999999999999999999/").status_code == 404


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ("json", "1.6")),
        ("", ("json", "1.6")),
        ("text/html, application/vnd.cyclonedx+xml;q=0.5", ("xml", "1.6")),
        ("application/vnd.cyclonedx+xml;q=0.4, application/vnd.cyclonedx+json;version=1.7;q=0.9", ("json", "1.7")),
        ("application/*", ("json", "1.6")),
        ("application/vnd.cyclonedx+json; q=bad, application/vnd.cyclonedx+xml", ("xml", "1.6")),
    ],
)
def test_negotiation_takes_the_acceptable_format_of_the_highest_weight(accept, expected):
    chosen = services.negotiate(accept)

    assert (chosen.kind, chosen.spec_version) == expected
