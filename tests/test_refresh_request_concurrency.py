"""Registrations of one model at the same moment start one refresh job (PostgreSQL: the second
waits for the first's transaction, then joins its job)."""

import threading

import pytest
from django.db import connection, transaction

from core.models import Job
from inventory.refresh.jobs import request_refresh
from inventory.services.ai_models import register_model
from tests.inventory_helpers import ACTOR
from tests.support.processes import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite lets one writer in at a time"),
]


def waiting_for_a_turn(model_id: int) -> bool:
    """Whether a request for this model's refresh waits for its turn (in this database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = 7320"
            " AND objid = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [model_id],
        )
        return cursor.fetchone()[0] > 0


def test_a_request_made_while_anothers_job_is_uncommitted_waits_and_joins_it():
    model = register_model(actor=ACTOR, source="huggingface", upstream_id="acme/popular")[0]
    jobs: list[Job] = []
    first_requested, commit_first = threading.Event(), threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():  # a registration's transaction, still open after the request
                jobs.append(request_refresh(actor=ACTOR, model=model))
                first_requested.set()
                commit_first.wait(timeout=30)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_requested.wait(timeout=30)
            jobs.append(request_refresh(actor=ACTOR, model=model))
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    wait_until(lambda: waiting_for_a_turn(model.pk), what="the second request to wait for the first")
    commit_first.set()
    for thread in threads:
        thread.join(timeout=30)

    assert len(jobs) == 2
    assert jobs[0].pk == jobs[1].pk
    assert Job.objects.filter(kind="refresh_model").count() == 1
