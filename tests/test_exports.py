"""Compliance exports: schedules run once per slot however many beats look, each run a job that stores
its file (sha256, size, signature beside it) through the exports storage, retention never removes the
newest file, the CSV inventory's columns and formula neutralising, the API and its roles, and one
scheduled export through a real worker with beat (on whichever backend the suite runs: PostgreSQL +
Redis in stage 1, SQLite + the file-system broker in the smoke stage)."""

import csv
import hashlib
import io
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boms.documents import Scope
from boms.export_models import ExportFile, ExportSchedule
from boms.exports import inventory_csv, services, timing
from boms.exports.inventory_csv import COLUMNS
from boms.xml import validate_xml
from core.access import system_principal
from core.changelog import Actor
from core.jobs import run_job
from core.models import ChangeLogEntry, Job
from core.tokens import issue_token
from inventory.models import AIModel, Deployment, License
from inventory.services import revisions
from tests import inventory_helpers as inv
from tests.support.processes import BIN_DIR, start, wait_until

ADMIN = system_principal("test")
DAY = timedelta(days=1)


@pytest.fixture
def storage_dir(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def inventory(storage_dir) -> dict[str, Any]:
    """Two models of team "search": a fine-tune (deployed in "bot"/prod, and in a system whose name a
    spreadsheet would run) of an Apache-2.0 base."""
    owner = inv.publisher("Acme", "FR")
    base = inv.model("acme/base", owner, License.objects.get(key="Apache-2.0"))
    tuned = inv.model("acme/tuned", owner)
    inv.derive_from(tuned, "acme/base")
    AIModel.objects.filter(pk__in=[base.pk, tuned.pk]).update(team="search")
    pinned, _ = revisions.add_revision(actor=inv.ACTOR, model=tuned, revision="b" * 40)
    now = timezone.now()
    for system in ("bot", '=HYPERLINK("http://x")'):
        Deployment.objects.create(revision=pinned, system=system, environment="prod", first_seen=now, last_seen=now)
    return {"base": base, "tuned": tuned}


def schedule(**fields: Any) -> ExportSchedule:
    definition = {"name": "nightly", "scope": "organization", "format": "csv", "at": time(2, 0)} | fields
    created = services.create_schedule(principal=ADMIN, definition=definition)
    ExportSchedule.objects.filter(pk=created.pk).update(created_at=timezone.now() - 40 * DAY)
    created.refresh_from_db()
    return created


def run_now(target: ExportSchedule) -> ExportFile:
    job = services.run_schedule_now(principal=ADMIN, schedule=target)
    run_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, (job.error, job.log)
    return ExportFile.objects.get(job_id=job.pk)


def stored_bytes(export_file: ExportFile) -> bytes:
    with services.export_storage().open(export_file.name, "rb") as opened:
        return opened.read()


# --- timing ---------------------------------------------------------------------------------------


def test_the_latest_slot_of_each_period():
    now = datetime(2025, 3, 12, 10, 30, tzinfo=UTC)  # a Wednesday
    assert timing.latest_slot(every="daily", at=time(2), now=now) == datetime(2025, 3, 12, 2, tzinfo=UTC)
    assert timing.latest_slot(every="daily", at=time(11), now=now) == datetime(2025, 3, 11, 11, tzinfo=UTC)
    assert timing.latest_slot(every="weekly", at=time(2), weekday=0, now=now) == datetime(2025, 3, 10, 2, tzinfo=UTC)
    assert timing.latest_slot(every="weekly", at=time(11), weekday=2, now=now) == datetime(2025, 3, 5, 11, tzinfo=UTC)
    assert timing.latest_slot(every="monthly", at=time(2), day_of_month=1, now=now) == datetime(
        2025, 3, 1, 2, tzinfo=UTC
    )
    january = datetime(2025, 1, 3, tzinfo=UTC)
    assert timing.latest_slot(every="monthly", at=time(2), day_of_month=28, now=january) == datetime(
        2024, 12, 28, 2, tzinfo=UTC
    )
    assert timing.next_slot(every="monthly", at=time(2), day_of_month=28, now=january) == datetime(
        2025, 1, 28, 2, tzinfo=UTC
    )


# --- one run per slot -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_due_schedule_runs_once_per_slot_however_many_beats_look(storage_dir):
    nightly = schedule()
    now = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)

    first, second = services.start_due_runs(now=now), services.start_due_runs(now=now)

    assert len(first) == 1
    assert second == []
    assert first[0].params["slot"] == now.replace(hour=2).isoformat()
    assert Job.objects.filter(kind="export").count() == 1
    assert services.start_due_runs(now=now + timedelta(hours=12)) == []  # still the same slot
    assert len(services.start_due_runs(now=now + DAY)) == 1  # the next day's slot
    assert ExportSchedule.objects.get(pk=nightly.pk).last_slot == (now + DAY).replace(hour=2)


@pytest.mark.django_db
def test_a_new_schedule_waits_for_its_first_slot_and_a_disabled_one_does_not_run(storage_dir):
    fresh = services.create_schedule(
        principal=ADMIN, definition={"name": "fresh", "scope": "organization", "format": "csv", "at": time(0, 0)}
    )
    now = timezone.now()
    assert services.start_due_runs(now=now) == []  # today's 00:00 came before the schedule did
    services.update_schedule(principal=ADMIN, schedule=fresh, changes={"enabled": False})
    assert services.start_due_runs(now=now + 2 * DAY) == []
    assert services.next_run(ExportSchedule.objects.get(pk=fresh.pk)) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_beats_start_one_run(storage_dir):
    schedule()
    now = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)
    barrier = threading.Barrier(4)
    started: list[int] = []

    def beat() -> None:
        try:
            barrier.wait()
            started.extend(job.pk for job in services.start_due_runs(now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(started) == 1
    assert Job.objects.filter(kind="export").count() == 1


# --- a run ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_stores_the_file_with_its_sha256_size_and_signature(inventory):
    nightly = schedule(format="cyclonedx-json", spec_version="1.7")

    export_file = run_now(nightly)

    content = stored_bytes(export_file)
    assert export_file.size == len(content) > 0
    assert export_file.sha256 == hashlib.sha256(content).hexdigest()
    assert export_file.name.startswith(f"exports/schedule-{nightly.pk}/")
    assert export_file.signature_name == f"{export_file.name}.sig"
    with services.export_storage().open(export_file.signature_name, "rb") as signature:
        assert len(signature.read()) == 64
    assert export_file.filename.endswith("-bom-organization-1.7.cdx.json")
    assert export_file.media_type == "application/vnd.cyclonedx+json; version=1.7"
    assert export_file.rows == 2
    job = Job.objects.get(pk=export_file.job_id)
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.result["sha256"] == export_file.sha256
    assert job.result["bytes"] == export_file.size
    assert job.result["download_url"] == f"/api/v1/export-files/{export_file.pk}/download/"
    assert ChangeLogEntry.objects.filter(object_type="boms.exportfile", object_id=str(export_file.pk)).exists()
    run_job(job_id=job.pk)  # a second delivery: the job is finished and left alone
    assert ExportFile.objects.filter(schedule=nightly).count() == 1


@pytest.mark.django_db
def test_an_xml_export_is_valid_against_the_xsd(inventory):
    export_file = run_now(schedule(format="cyclonedx-xml", scope="team", scope_name="search"))

    validate_xml(stored_bytes(export_file), "1.6")
    assert export_file.media_type == "application/vnd.cyclonedx+xml; version=1.6"


@pytest.mark.django_db
def test_retention_keeps_the_newest_files_and_never_the_latest(storage_dir):
    nightly = schedule(keep=1)

    files = [run_now(nightly) for _ in range(3)]

    remaining = list(ExportFile.objects.filter(schedule=nightly))
    assert remaining == [files[-1]]
    storage = services.export_storage()
    assert storage.exists(files[-1].name)
    assert storage.exists(files[-1].signature_name)
    for gone in files[:-1]:
        assert not storage.exists(gone.name)
        assert not storage.exists(gone.signature_name)
    assert "retention removed 1 older file(s)" in Job.objects.get(pk=files[-1].job_id).log


@pytest.mark.django_db
def test_retention_by_age_still_keeps_the_latest(storage_dir):
    monthly = schedule(keep=5, keep_days=30)
    files = [run_now(monthly) for _ in range(3)]
    ExportFile.objects.filter(pk__in=[f.pk for f in files]).update(created_at=timezone.now() - 60 * DAY)
    ExportFile.objects.filter(pk=files[-1].pk).update(created_at=timezone.now() - 59 * DAY)  # the newest, still old

    removed = services.apply_retention(schedule_id=monthly.pk)

    assert len(removed) == 4  # two files, each with its signature
    assert list(ExportFile.objects.filter(schedule=monthly)) == [files[-1]]


@pytest.mark.django_db
def test_a_storage_backend_from_the_settings_is_used(settings, inventory):
    settings.STORAGES = {**settings.STORAGES, "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

    export_file = run_now(schedule())

    assert not (inventory_dir := settings.MEDIA_ROOT / "exports").exists(), inventory_dir
    assert hashlib.sha256(stored_bytes(export_file)).hexdigest() == export_file.sha256


# --- the CSV inventory ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_csv_inventory_has_one_row_per_model_and_neutralises_formulas(inventory):
    export_file = run_now(schedule())

    rows = list(csv.reader(io.StringIO(stored_bytes(export_file).decode())))

    assert tuple(rows[0]) == COLUMNS
    by_model = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert set(by_model) == {"huggingface:acme/base", "huggingface:acme/tuned"}
    tuned = by_model["huggingface:acme/tuned"]
    assert tuned["purl"] == "pkg:huggingface/acme/tuned@" + "b" * 40
    assert (tuned["publisher"], tuned["country"], tuned["effective_origin"]) == ("Acme", "FR", "FR")
    assert tuned["inherited_licenses"] == "Apache-2.0"
    assert by_model["huggingface:acme/base"]["license"] == "Apache-2.0"
    assert tuned["audit_status"] == "unaudited"
    assert tuned["audit_expires_at"] == ""
    # the system name a spreadsheet would run as a formula starts the cell: quoted
    assert tuned["deployments"] == '\'=HYPERLINK("http://x")/prod; bot/prod'
    assert export_file.rows == 2


@pytest.mark.django_db
def test_the_csv_inventory_costs_the_same_queries_for_more_models(storage_dir):
    owner = inv.publisher("Many", "US")
    for index in range(3):
        inv.model(f"many/m{index}", owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = list(inventory_csv.inventory_rows(Scope("organization")))
        return len(captured), len(rows)

    few, few_rows = queries()
    for index in range(3, 30):
        inv.model(f"many/m{index}", owner)
    many, many_rows = queries()

    assert (few_rows, many_rows) == (4, 31)
    assert many == few


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def api(client):
    def call(role: str):
        secret = issue_token(actor=Actor.system("test"), name=f"exports-{role}", role=role).secret
        headers = {"Authorization": f"Bearer {secret}"}

        def send(method: str, url: str, body: Any = None, **extra: Any):
            if method == "get":
                return client.get(url, body or {}, headers=headers)
            return getattr(client, method)(url, body, content_type="application/json", headers=headers)

        return send

    return call


@pytest.mark.django_db
def test_admins_create_change_and_run_schedules_through_the_api(api, storage_dir):
    admin = api("admin")

    created = admin("post", "/api/v1/exports/", {
        "name": "weekly-bot", "scope": "system", "scope_name": "bot", "format": "cyclonedx-xml",
        "spec_version": "1.7", "every": "weekly", "weekday": 4, "at": "06:30", "keep": 3,
    })  # fmt: skip

    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == body["links"]["self"]
    assert (body["at"], body["every"], body["weekday"], body["keep"], body["enabled"]) == (
        "06:30",
        "weekly",
        4,
        3,
        True,
    )
    assert body["next_run"] is not None
    assert body["last_slot"] is None
    assert ChangeLogEntry.objects.filter(object_type="boms.exportschedule", action="create").count() == 1

    changed = admin("patch", body["links"]["self"], {"enabled": False, "keep_days": 90})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["enabled"], changed.json()["keep_days"], changed.json()["next_run"]) == (False, 90, None)

    run = admin("post", body["links"]["run"])
    assert run.status_code == 202, run.content
    assert run.json()["kind"] == "export"
    assert run["Location"] == run.json()["url"]

    adhoc = admin("post", "/api/v1/exports/run/", {"scope": "organization", "format": "csv"})
    assert adhoc.status_code == 202, adhoc.content
    assert adhoc.json()["params"]["schedule"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scope": "team", "format": "csv", "at": "02:00"}, "scope_name"),
        ({"name": "x", "scope": "organization", "scope_name": "y", "format": "csv", "at": "02:00"}, "scope_name"),
        ({"name": "x", "scope": "organization", "format": "csv", "at": "25:00"}, "at"),
        ({"name": "x", "scope": "organization", "format": "pdf", "at": "02:00"}, "format"),
        ({"name": "x", "scope": "organization", "format": "csv", "at": "02:00", "keep": 0}, "keep"),
        ({"name": "x", "scope": "organization", "format": "csv", "at": "02:00", "colour": "red"}, "colour"),
    ],
)
def test_an_invalid_schedule_is_refused_naming_the_field_and_nothing_is_stored(api, storage_dir, body, field):
    response = api("admin")("post", "/api/v1/exports/", body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in str(response.json()), response.json()
    assert not ExportSchedule.objects.exists()


@pytest.mark.django_db
def test_a_schedule_name_is_taken_once(api, storage_dir):
    schedule()
    response = api("admin")("post", "/api/v1/exports/", {"name": "nightly", "scope": "organization",
                                                         "format": "csv", "at": "02:00"})  # fmt: skip
    assert response.status_code == 400
    assert "name" in str(response.json())


@pytest.mark.django_db
def test_readers_list_and_download_files_but_do_not_manage_schedules(api, inventory):
    export_file = run_now(schedule())
    viewer = api("viewer")

    assert viewer("post", "/api/v1/exports/", {"name": "x", "scope": "organization", "format": "csv",
                                                "at": "02:00"}).status_code == 403  # fmt: skip
    assert viewer("post", f"/api/v1/exports/{export_file.schedule_id}/run/").status_code == 403
    listed = viewer("get", "/api/v1/export-files/", {"schedule": export_file.schedule_id})
    assert listed.status_code == 200
    [item] = listed.json()["results"]
    assert (item["sha256"], item["size"], item["models"]) == (export_file.sha256, export_file.size, 2)

    download = viewer("get", item["links"]["download"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == item["sha256"]
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert export_file.filename in download["Content-Disposition"]
    signature = viewer("get", item["links"]["signature"])
    assert signature.status_code == 200
    assert len(b"".join(signature.streaming_content)) == 64
    assert viewer("get", "/api/v1/exports/").json()["results"][0]["name"] == "nightly"


@pytest.mark.django_db
def test_a_file_missing_from_the_storage_is_a_404(api, inventory):
    export_file = run_now(schedule())
    services.export_storage().delete(export_file.name)

    response = api("viewer")("get", f"/api/v1/export-files/{export_file.pk}/download/")

    assert response.status_code == 404
    assert "missing from the storage" in response.json()["detail"]


# --- through the real worker and beat -------------------------------------------------------------


@pytest.mark.smoke
def test_a_scheduled_export_runs_through_the_worker_and_beat(worker, service_env, logs_dir, tmp_path, transactional_db):
    """Beat (a process of its own here, every second) finds the due schedule and the suite's worker
    runs its job; the worker shares this process's data folder (the stored files and the development
    signing key), as every process of an installation shares its storage. The file verifies."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    owner = inv.publisher("Acme", "FR")
    inv.model("acme/scheduled", owner)
    due = schedule(format="cyclonedx-json")
    beat_command = [str(BIN_DIR / "celery"), "-A", "registry", "beat", "--loglevel", "INFO"]
    beat = start(
        "export-beat", [*beat_command, "--schedule", str(tmp_path / "beat-schedule")],
        env={**service_env, "EXPORT_BEAT_SECONDS": "1"}, log_dir=logs_dir,
    )  # fmt: skip
    try:
        export_file = wait_until(
            lambda: ExportFile.objects.filter(schedule=due).first(), timeout=90, what="the scheduled export's file"
        )
    finally:
        beat.stop()
    assert "Sending due task run-due-exports" in beat.log_text()
    assert Job.objects.filter(kind="export").count() == 1
    content = stored_bytes(export_file)
    assert hashlib.sha256(content).hexdigest() == export_file.sha256
    with services.export_storage().open(export_file.signature_name, "rb") as opened:
        signature = opened.read()
    load_pem_public_key(services.public_key(principal=ADMIN).encode()).verify(signature, content)


# --- the admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_schedules_runs_them_and_downloads_files(admin_client, inventory):
    export_file = run_now(schedule())

    assert admin_client.get("/admin/boms/exportschedule/").status_code == 200
    files_page = admin_client.get("/admin/boms/exportfile/")
    assert files_page.status_code == 200
    download_url = f"/admin/boms/exportfile/{export_file.pk}/download/"
    assert download_url in files_page.content.decode()
    download = admin_client.get(download_url)
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == export_file.sha256
    signature = admin_client.get(f"/admin/boms/exportfile/{export_file.pk}/signature/")
    assert len(b"".join(signature.streaming_content)) == 64

    ran = admin_client.post(
        "/admin/boms/exportschedule/", {"action": "run_now", "_selected_action": [export_file.schedule_id]}
    )
    assert ran.status_code == 302
    assert Job.objects.filter(kind="export", params__schedule=export_file.schedule_id).count() == 2


@pytest.mark.django_db
def test_the_admin_form_shows_the_rules_across_fields(admin_client, storage_dir):
    response = admin_client.post(
        "/admin/boms/exportschedule/add/",
        {"name": "x", "scope": "team", "scope_name": "", "format": "csv", "spec_version": "1.6", "every": "daily",
         "at": "02:00", "weekday": 0, "day_of_month": 1, "enabled": "on", "keep": 3},
    )  # fmt: skip

    assert response.status_code == 200
    assert "required for the team scope" in response.content.decode()
    assert not ExportSchedule.objects.exists()
