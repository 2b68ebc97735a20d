"""BOMs in and out in a real browser: an admin uploads a small CycloneDX document, follows its job to
the finished state and reads the result; then runs a compliance export from the exports page and
downloads it, the bytes' SHA-256 being the one the page shows (and the stored file's).

The live server runs no worker of its own: the test runs each job (``core.jobs.run_job``) once the
page shows it queued, and the page's progress fragment (htmx, every second) sees it finish. The
suite's worker, when one runs, may take a job first: the files are then in the same storage (this
process's, not a folder of the test's own), as every process of an installation shares it."""

import hashlib
import json
import re
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from boms.export_models import ExportFile
from boms.exports import services as exports
from core.access import system_principal
from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel, Deployment

pytestmark = [pytest.mark.browser]

CONFORMANCE = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "cyclonedx"


def tiny_bom() -> bytes:
    """The specification's machine-learning example (one model), with a system to deploy."""
    document = json.loads((CONFORMANCE / "1.6" / "valid-machine-learning-1.6.json").read_text())
    document["metadata"] = {"component": {"type": "application", "name": "chatbot", "bom-ref": "chatbot-app"}}
    return json.dumps(document).encode()


def job_id_of(url: str) -> int:
    found = re.search(r"/jobs/(\d+)/$", url)
    assert found, url
    return int(found.group(1))


def test_upload_a_bom_then_run_and_download_an_export(open_page, make_person):
    nightly = exports.create_schedule(
        principal=system_principal("test"),
        definition={"name": "nightly", "scope": "organization", "format": "cyclonedx-json", "at": time(2, 0)},
    )
    page = open_page(make_person("ada", "admin"))

    # In: the upload form, then the job's page.
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    page.get_by_role("link", name="Upload a BOM").click()
    expect(page.locator("h1")).to_have_text("Upload a CycloneDX BOM")
    page.get_by_label("CycloneDX document").set_input_files(
        {"name": "ml-bom.json", "mimeType": "application/json", "buffer": tiny_bom()}
    )
    page.get_by_label("Environment").fill("prod")
    page.get_by_role("button", name="Upload and apply").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    ingest = Job.objects.get(pk=job_id_of(page.url))
    assert ingest.kind == "bom_ingest"
    expect(page.locator("ul.messages")).to_contain_text("a valid CycloneDX 1.6 JSON document")
    status = page.locator(f"#job-progress-label-{ingest.pk}")
    expect(status).to_contain_text(re.compile("queued|running|succeeded"))  # the suite's worker may be at it
    open_page.snap(page, "ingest-job")

    run_job(job_id=ingest.pk)  # nothing to do when a worker took it
    expect(status).to_contain_text("succeeded")  # the fragment polled itself to the end
    page.reload()
    outcome = page.locator("section", has=page.locator("#outcome-heading"))
    expect(outcome.locator("dt", has_text="models_created")).to_be_visible()
    expect(outcome).to_contain_text("chatbot")
    open_page.snap(page, "ingest-done")
    assert AIModel.objects.count() == 1
    assert Deployment.objects.filter(system="chatbot", environment="prod").exists()

    # Out: run the schedule now, follow its job, download the file.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    page.get_by_role("button", name="Run nightly now").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    export = Job.objects.get(pk=job_id_of(page.url))
    assert (export.kind, export.params["schedule"]) == ("export", nightly.pk)
    run_job(job_id=export.pk)
    expect(page.locator(f"#job-progress-label-{export.pk}")).to_contain_text("succeeded")
    page.get_by_role("link", name="The export files").click()

    stored = ExportFile.objects.get(job_id=export.pk)
    row = page.locator("tr", has_text=stored.filename)
    shown_sha256 = row.locator("code.sha256").inner_text()
    assert shown_sha256 == stored.sha256
    expect(page.locator("pre.command").first).to_contain_text("openssl pkeyutl -verify -pubin -inkey")
    open_page.snap(page, "exports")
    with page.expect_download() as downloading:
        row.get_by_role("link", name="File").click()
    download = downloading.value
    assert download.suggested_filename == stored.filename
    content = Path(download.path()).read_bytes()
    assert hashlib.sha256(content).hexdigest() == shown_sha256
    assert json.loads(content)["bomFormat"] == "CycloneDX"
