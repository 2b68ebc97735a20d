"""The change log is append-only: on PostgreSQL the database itself refuses UPDATE and DELETE."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core import changelog
from core.changelog import Actor
from core.models import ChangeLogEntry
from core.request_context import bound_request_id
from governance.models import Evidence
from tests.factories import PublisherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_row() -> ChangeLogEntry:
    publisher = PublisherFactory()
    with bound_request_id("req-append-only"):
        return changelog.record(actor=Actor.system("test"), action="create", instance=publisher, after={"x": 1})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_update_of_a_change_log_row_is_refused(logged_row):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        ChangeLogEntry.objects.filter(pk=logged_row.pk).update(message="rewritten")

    logged_row.refresh_from_db()
    assert logged_row.message == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_delete_of_a_change_log_row_is_refused(logged_row):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        ChangeLogEntry.objects.filter(pk=logged_row.pk).delete()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_changelogentry")

    assert ChangeLogEntry.objects.filter(pk=logged_row.pk).exists()


def test_a_row_keeps_actor_request_and_object(logged_row):
    assert (logged_row.actor_kind, logged_row.actor_name, logged_row.request_id) == (
        "system",
        "system:test",
        "req-append-only",
    )
    assert logged_row.object_type == "inventory.publisher"
    assert logged_row.after == {"x": 1}


def test_the_admin_cannot_edit_or_delete_the_change_log(admin_client, logged_row):
    page = admin_client.get(f"/admin/core/changelogentry/{logged_row.pk}/change/")
    posted = admin_client.post(f"/admin/core/changelogentry/{logged_row.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert posted.status_code == 403
    assert ChangeLogEntry.objects.filter(pk=logged_row.pk).exists()


def test_a_snapshot_keeps_a_file_as_its_stored_name():
    assert changelog.snapshot(Evidence(kind="file", file="evidence/2026/01/notes.txt"))["file"] == (
        "evidence/2026/01/notes.txt"
    )
    assert changelog.snapshot(Evidence(kind="link", url="https://example.org/notes"))["file"] == ""
