"""The exports page: schedules (scope, format, when, retention, enabled, last and next run), run now
(admins: the job's page, then the file), the schedule form through the exports service (errors named,
admins only), the stored files with their download and signature links served from the exports
storage, and the verification instructions with the public key of ``boms.exports.services.public_key``."""

import hashlib
from datetime import time

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boms.export_models import ExportFile, ExportSchedule
from boms.exports import services
from core.access import system_principal
from core.jobs import run_job
from core.models import ChangeLogEntry, Job
from tests import inventory_helpers as inv

pytestmark = [pytest.mark.django_db]

ADMIN = system_principal("test")
URL = reverse("portal:exports")


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def schedule(name: str = "nightly", **fields) -> ExportSchedule:
    definition = {"name": name, "scope": "organization", "format": "csv", "at": time(2, 0)} | fields
    return services.create_schedule(principal=ADMIN, definition=definition)


def run(target: ExportSchedule) -> ExportFile:
    job = services.run_schedule_now(principal=ADMIN, schedule=target)
    run_job(job_id=job.pk)
    return ExportFile.objects.get(job_id=job.pk)


def form(**changes: str) -> dict[str, str]:
    return {
        "name": "weekly-team", "scope": "team", "scope_name": "search", "format": "cyclonedx-json",
        "spec_version": "1.7", "every": "weekly", "at": "03:30", "weekday": "4", "day_of_month": "1",
        "enabled": "on", "keep": "5", "keep_days": "90",
        **changes,
    }  # fmt: skip


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_page_lists_schedules_files_and_how_to_verify_with_the_public_key(client_as):
    inv.model("acme/base", inv.publisher("Acme", "FR"))
    nightly = schedule(keep=3)
    schedule("weekly-json", format="cyclonedx-json", every="weekly", weekday=2, enabled=False, keep_days=30)
    stored = run(nightly)

    response = client_as("viewer").get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "nightly" in html
    assert "daily at 02:00" in html
    assert "weekly on Wednesday at 02:00" in html
    assert "CycloneDX JSON 1.6" in html
    assert "3 files" in html
    assert "10 files, 30 days" in html
    assert "paused" in html
    assert stored.filename in html
    assert stored.sha256 in html
    assert reverse("portal:export-file-download", args=[stored.pk]) in html
    assert reverse("portal:export-file-signature", args=[stored.pk]) in html
    pem = services.public_key(principal=ADMIN)
    assert pem.strip() in html
    assert (
        "openssl pkeyutl -verify -pubin -inkey export-signing-key.pem -rawin "
        f"-in {stored.filename} -sigfile {stored.filename}.sig"
    ) in html
    # A reader sees no admin control.
    assert "Run now" not in html
    assert reverse("portal:export-schedule-new") not in html
    assert reverse("portal:export-run", args=[nightly.pk]) not in html


def test_an_admin_sees_the_controls(client_as):
    nightly = schedule()

    html = client_as("admin").get(URL).content.decode()

    assert reverse("portal:export-run", args=[nightly.pk]) in html
    assert reverse("portal:export-schedule", args=[nightly.pk]) in html
    assert reverse("portal:export-schedule-new") in html


def test_downloads_are_the_stored_bytes_and_the_signature_verifies_with_the_shown_key(client_as):
    inv.model("acme/base", inv.publisher("Acme", "FR"))
    stored = run(schedule())
    client = client_as("viewer")

    file = client.get(reverse("portal:export-file-download", args=[stored.pk]))
    signature = client.get(reverse("portal:export-file-signature", args=[stored.pk]))
    key = client.get(reverse("portal:export-public-key"))

    content = body_of(file)
    assert file.status_code == 200
    assert file["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{stored.filename}"' in file["Content-Disposition"]
    assert hashlib.sha256(content).hexdigest() == stored.sha256
    assert len(content) == stored.size == int(file["Content-Length"])
    assert b"acme/base" in content
    assert signature.status_code == 200
    assert f'filename="{stored.filename}.sig"' in signature["Content-Disposition"]
    assert key.status_code == 200
    assert 'filename="export-signing-key.pem"' in key["Content-Disposition"]
    assert key.content.decode() == services.public_key(principal=ADMIN)
    load_pem_public_key(key.content).verify(body_of(signature), content)  # raises InvalidSignature if not


def test_a_file_gone_from_the_storage_is_a_404(client_as):
    stored = run(schedule())
    services.export_storage().delete(stored.name)

    response = client_as("viewer").get(reverse("portal:export-file-download", args=[stored.pk]))

    assert response.status_code == 404


def test_run_now_starts_the_schedules_job_and_goes_to_its_page_then_links_the_file(client_as):
    nightly = schedule()
    client = client_as("admin")

    response = client.post(reverse("portal:export-run", args=[nightly.pk]))

    job = Job.objects.get(kind="export")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:job", args=[job.pk])
    assert job.params["schedule"] == nightly.pk
    page = client.get(response["Location"]).content.decode()
    assert f"started as job #{job.pk}" in page
    assert reverse("portal:job-progress", args=[job.pk]) in page

    run_job(job_id=job.pk)
    stored = ExportFile.objects.get(job_id=job.pk)
    done = client.get(response["Location"]).content.decode()
    assert reverse("portal:export-file-download", args=[stored.pk]) in done
    assert reverse("portal:export-file-signature", args=[stored.pk]) in done
    progress = client.get(reverse("portal:job-progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in progress
    assert "The export files" in progress


@pytest.mark.parametrize("role", ["viewer", "deployer", "editor", "auditor"])
def test_run_now_is_refused_to_everyone_but_admins(client_as, role):
    nightly = schedule()

    response = client_as(role).post(reverse("portal:export-run", args=[nightly.pk]))

    assert response.status_code == 403
    assert not Job.objects.filter(kind="export").exists()


def test_an_admin_adds_a_schedule_through_the_service(client_as):
    response = client_as("admin").post(reverse("portal:export-schedule-new"), form())

    assert response.status_code == 302
    assert response["Location"] == URL
    added = ExportSchedule.objects.get(name="weekly-team")
    assert (added.scope, added.scope_name, added.format, added.spec_version) == (
        "team",
        "search",
        "cyclonedx-json",
        "1.7",
    )
    assert (added.every, added.at, added.weekday, added.keep, added.keep_days, added.enabled) == (
        "weekly",
        time(3, 30),
        4,
        5,
        90,
        True,
    )
    assert ChangeLogEntry.objects.filter(action="create", object_id=str(added.pk)).exists()


def test_an_admin_edits_a_schedule_and_pauses_it(client_as):
    nightly = schedule()
    client = client_as("admin")
    page = client.get(reverse("portal:export-schedule", args=[nightly.pk])).content.decode()
    assert 'value="nightly"' in page
    assert 'value="02:00"' in page

    response = client.post(
        reverse("portal:export-schedule", args=[nightly.pk]),
        form(name="nightly", scope="organization", scope_name="", format="csv", enabled=""),
    )

    assert response.status_code == 302
    nightly.refresh_from_db()
    assert (nightly.enabled, nightly.every, nightly.keep) == (False, "weekly", 5)
    assert ChangeLogEntry.objects.filter(action="update", object_id=str(nightly.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"scope_name": ""}, "Scope name: required for the team scope"),
        ({"scope": "organization"}, "Scope name: the organization scope takes no name"),
        ({"day_of_month": "31"}, "Day of the month: Ensure this value is less than or equal to 28."),
        ({"keep": "0"}, "Files kept: Ensure this value is greater than or equal to 1."),
        ({"at": "25:00"}, "At (UTC): Enter a valid time."),
        ({"name": "bad\x00name"}, "Name:"),
        ({"format": "pdf"}, "Format: Select a valid choice."),
    ],
)
def test_a_refused_schedule_is_a_400_naming_the_field_and_stores_nothing(client_as, changes, shown):
    response = client_as("admin").post(reverse("portal:export-schedule-new"), form(**changes))

    assert response.status_code == 400
    assert shown in response.content.decode()
    assert not ExportSchedule.objects.exists()


def test_a_name_taken_is_a_400_on_the_name(client_as):
    schedule("weekly-team")

    response = client_as("admin").post(reverse("portal:export-schedule-new"), form())

    assert response.status_code == 400
    assert "Name: an export schedule with this name exists" in response.content.decode()
    assert ExportSchedule.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "editor", "auditor"])
def test_schedule_forms_are_admins_only(client_as, role):
    nightly = schedule()
    client = client_as(role)

    assert client.get(reverse("portal:export-schedule-new")).status_code == 403
    assert client.post(reverse("portal:export-schedule-new"), form()).status_code == 403
    assert client.post(reverse("portal:export-schedule", args=[nightly.pk]), form(name="x")).status_code == 403
    assert ExportSchedule.objects.get().name == "nightly"


def test_the_files_filter_by_schedule_and_format_as_the_api_does(client_as):
    first, second = schedule("first"), schedule("second", format="cyclonedx-json")
    one, other = run(first), run(second)
    client = client_as("viewer")

    by_schedule = client.get(URL, {"schedule": first.pk}).content.decode()
    by_format = client.get(URL, {"format": "cyclonedx-json"}).content.decode()
    wrong = client.get(URL, {"format": "pdf"})

    assert one.filename in by_schedule
    assert other.filename not in by_schedule
    assert other.filename in by_format
    assert one.filename not in by_format
    assert wrong.status_code == 400
    assert "format" in wrong.content.decode()


def test_without_a_signing_key_the_page_says_so(client_as, settings):
    settings.EXPORT_SIGNING_KEY = ""
    settings.EXPORT_SIGNING_KEY_DEVELOPMENT_FILE = None

    page = client_as("viewer").get(URL)
    key = client_as("auditor").get(reverse("portal:export-public-key"))

    assert page.status_code == 200
    assert "Signatures cannot be checked here: no export signing key" in page.content.decode()
    assert key.status_code == 503


def _files(count: int, target: ExportSchedule) -> None:
    stored = run(target)  # one real file; the rest rows like it
    ExportFile.objects.bulk_create(
        ExportFile(
            schedule=target if index % 2 else None, scope="organization", format="csv", name=f"{stored.name}-{index}",
            signature_name=f"{stored.name}-{index}.sig", filename=f"copy-{index}.csv", media_type="text/csv",
            size=stored.size, sha256=stored.sha256,
        )
        for index in range(count - 1)
    )  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_the_page_runs_as_many_queries_for_few_schedules_and_files_as_for_many(client_as, role):
    client = client_as(role)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured.captured_queries)

    for index in range(3):
        schedule(f"small-{index}")
    _files(3, ExportSchedule.objects.get(name="small-0"))
    few = queries()
    for index in range(27):
        schedule(f"large-{index}", scope="team", scope_name=f"team-{index}")
    _files(30, ExportSchedule.objects.get(name="large-0"))
    many = queries()

    assert few == many
