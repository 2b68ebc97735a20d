"""The BOM upload page: a CycloneDX file posted from a form goes through the API's service
(``boms.ingest.uploads.submit_bom``): accepted, it is stored with its job and the browser goes to the
job's page (progress, then the result); refused, the form comes back as a 400 naming each failing path
(or the line and column), storing nothing; too large, a 413 before the file is read; registering only."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from boms.models import BomUpload
from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel, Deployment
from portal.views import ingest
from tests.support.bom_ingest import minimal_json, minimal_xml

pytestmark = [pytest.mark.django_db]

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cyclonedx"
URL = reverse("portal:bom-upload")


def ml_document(name: str = "tiny-model", system: str = "") -> bytes:
    """A small valid CycloneDX 1.6 document with one machine-learning model (and a system, if named)."""
    document = json.loads(minimal_json())
    document["components"] = [
        {
            "type": "machine-learning-model",
            "bom-ref": "model-1",
            "group": "portal-org",
            "name": name,
            "version": "1.0",
            "purl": f"pkg:huggingface/portal-org/{name}@{'a' * 40}",
        }
    ]
    if system:
        document["metadata"] = {"component": {"type": "application", "name": system, "bom-ref": "app"}}
    return json.dumps(document).encode()


def upload(client: Client, content: bytes, name: str = "bom.json", content_type: str = "application/json", **fields):
    document = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(URL, {"document": document, "environment": "", **fields})


def nothing_stored() -> bool:
    return not BomUpload.objects.exists() and not Job.objects.filter(kind="bom_ingest").exists()


def test_the_form_is_shown_to_those_who_may_register_and_explained_to_others(client_as):
    page = client_as("deployer").get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert '<label for="id_document">' in html
    assert '<label for="id_environment">' in html
    assert 'type="file"' in html

    viewer = client_as("viewer", username="vera").get(URL).content.decode()
    assert 'type="file"' not in viewer
    assert "may not register models" in viewer


@pytest.mark.smoke
def test_a_valid_document_is_stored_with_its_job_and_the_job_page_shows_progress_then_the_result(client_as):
    client = client_as("deployer")

    response = upload(client, ml_document(system="chatbot"), environment="prod")

    job = Job.objects.get(kind="bom_ingest")
    upload_row = BomUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:job", args=[job.pk])
    assert job.params == {"document_id": upload_row.pk, "environment": "prod"}
    assert (upload_row.system, upload_row.environment, upload_row.actor_name) == ("chatbot", "prod", "deployer-person")
    assert bytes(upload_row.content) == ml_document(system="chatbot")

    waiting = client.get(response["Location"]).content.decode()
    assert "a valid CycloneDX 1.6 JSON document" in waiting  # the success message
    assert f'hx-get="{reverse("portal:job-progress", args=[job.pk])}"' in waiting  # polls while queued

    run_job(job_id=job.pk)
    done = client.get(response["Location"]).content.decode()
    assert "succeeded" in done
    assert "hx-trigger" not in done.split('id="progress-heading"')[1].split("</section>")[0]  # polling stopped
    assert "<dt>models_created</dt><dd>1</dd>" in done
    assert "<dt>deployments_created</dt><dd>1</dd>" in done
    assert AIModel.objects.filter(upstream_id="portal-org/tiny-model").exists()
    assert Deployment.objects.filter(system="chatbot", environment="prod").exists()


def test_an_xml_document_is_read_as_xml(client_as):
    response = upload(client_as("editor"), minimal_xml(), name="bom.xml", content_type="text/xml")

    assert response.status_code == 302
    assert BomUpload.objects.get().format == "xml"


def test_a_schema_invalid_document_is_a_400_naming_the_failing_path_and_stores_nothing(client_as):
    content = (CONFORMANCE / "1.6" / "invalid-component-type-1.6.json").read_bytes()

    response = upload(client_as("deployer"), content, name="invalid-component-type-1.6.json")

    html = response.content.decode()
    assert response.status_code == 400
    assert "The document was refused" in html
    assert "<code>$.components[0].type</code>" in html
    assert "/components/0/type" in html
    assert "&quot;foo&quot; is not one of" in html
    assert 'type="file"' in html  # the form again
    assert nothing_stored()


def test_a_document_that_does_not_parse_is_a_400_giving_the_line_and_column(client_as):
    content = b'{"bomFormat": "CycloneDX",\n "specVersion": "1.6",\n}'

    response = upload(client_as("deployer"), content)

    assert response.status_code == 400
    assert "line 3, column 1" in response.content.decode()
    assert nothing_stored()


def test_an_xml_document_invalid_against_its_xsd_names_the_element(client_as):
    content = (CONFORMANCE / "1.6" / "invalid-component-type-1.6.xml").read_bytes()

    response = upload(client_as("deployer"), content, name="bad.xml", content_type="application/xml")

    assert response.status_code == 400
    assert "<code>/bom/components/component</code>" in response.content.decode()
    assert nothing_stored()


def test_an_environment_for_a_document_without_a_system_is_a_400_on_the_environment(client_as):
    response = upload(client_as("deployer"), ml_document(), environment="prod")

    html = response.content.decode()
    assert response.status_code == 400
    assert "Environment: the document names no system" in html
    assert nothing_stored()


def test_control_characters_in_the_environment_are_refused(client_as):
    response = upload(client_as("deployer"), ml_document(system="bot"), environment="pr\x00od")

    assert response.status_code == 400
    assert "Environment:" in response.content.decode()
    assert nothing_stored()


def test_a_file_neither_json_nor_xml_by_name_or_type_is_a_400_on_the_document(client_as):
    response = upload(client_as("deployer"), ml_document(), name="bom.bin", content_type="application/octet-stream")

    assert response.status_code == 400
    assert "CycloneDX document: name the file .json or .xml" in response.content.decode()
    assert nothing_stored()


def test_a_missing_file_is_a_400_naming_it(client_as):
    response = client_as("deployer").post(URL, {"environment": ""})

    assert response.status_code == 400
    assert "CycloneDX document: This field is required." in response.content.decode()


def test_a_file_over_the_limit_is_a_413_stopped_while_reading_and_nothing_is_stored(client_as, settings):
    settings.BOM_UPLOAD_MAX_BYTES = 2048
    content = ml_document(name="x" * 3000)

    response = upload(client_as("deployer"), content)

    html = response.content.decode()
    assert response.status_code == 413
    assert "larger than the 2048 bytes a BOM upload may have (BOM_UPLOAD_MAX_BYTES)" in html
    assert "This field is required" not in html
    assert nothing_stored()


def test_a_body_far_over_the_limit_is_refused_by_its_length_before_anything_reads_it(client_as, settings, monkeypatch):
    settings.BOM_UPLOAD_MAX_BYTES = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    def never(request):
        raise AssertionError("the body was about to be read")

    monkeypatch.setattr(ingest.BomSizeLimit, "install", classmethod(lambda cls, request: never(request)))

    response = upload(client_as("deployer"), ml_document(name="x" * 5000))

    assert response.status_code == 413
    assert "larger than the 1024 bytes" in response.content.decode()
    assert nothing_stored()


def test_a_viewer_may_not_upload(client_as):
    response = upload(client_as("viewer"), ml_document())

    assert response.status_code == 403
    assert nothing_stored()


def test_an_upload_without_its_csrf_token_is_refused(client_as):
    client = client_as("deployer", enforce_csrf_checks=True)
    client.get(URL)

    response = upload(client, ml_document())

    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert nothing_stored()


def test_with_its_csrf_token_the_upload_goes_through(client_as):
    client = client_as("deployer", enforce_csrf_checks=True)
    client.get(URL)

    response = upload(client, ml_document(), csrfmiddlewaretoken=client.cookies["csrftoken"].value)

    assert response.status_code == 302
    assert BomUpload.objects.count() == 1
