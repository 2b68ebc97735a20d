"""Concurrent registrations of one new model: one row, no 5xx (PostgreSQL, real threads)."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from core.changelog import Actor
from core.tokens import issue_token
from inventory.models import AIModel


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database that writes concurrently")
def test_two_concurrent_registrations_of_a_new_model_give_one_row(transactional_db):
    secret = issue_token(actor=Actor.system("test"), name="racer", role="deployer").secret
    barrier = threading.Barrier(2)
    results: list[tuple[int, float, float]] = []

    def register() -> None:
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        barrier.wait()
        started = time.monotonic()
        response = client.post(
            "/api/v1/models/", {"reference": "huggingface:racing/model"}, content_type="application/json"
        )
        results.append((response.status_code, started, time.monotonic()))
        connection.close()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    (status_a, start_a, end_a), (status_b, start_b, end_b) = results
    assert start_a < end_b, "the two requests overlapped"
    assert start_b < end_a, "the two requests overlapped"
    assert sorted((status_a, status_b)) == [200, 201]
    assert AIModel.objects.filter(upstream_id="racing/model").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database that writes concurrently")
def test_a_correction_and_a_refresh_writing_the_same_model_do_not_deadlock(transactional_db):
    from django.db import transaction
    from django.utils import timezone

    from inventory import origin
    from inventory.services.ai_models import register_model

    model = register_model(actor=Actor.system("test"), source="huggingface", upstream_id="locks/model")[0]
    client = Client(
        headers={"Authorization": f"Bearer {issue_token(actor=Actor.system('test'), name='e', role='editor').secret}"}
    )
    etag = client.get(f"/api/v1/models/{model.pk}/").headers["ETag"]
    lineage_held, patch_waits = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def refresh_batch() -> None:  # the order a refresh batch takes its locks in: lineage, then rows
        try:
            with transaction.atomic():
                origin.lock_lineage()
                lineage_held.set()
                patch_waits.wait(timeout=30)
                AIModel.objects.select_for_update().get(pk=model.pk)
                AIModel.objects.filter(pk=model.pk).update(refreshed_at=timezone.now())
            outcome["refresh"] = "committed"
        except Exception as exc:
            outcome["refresh"] = repr(exc)
        finally:
            connection.close()

    def correct() -> None:
        response = client.patch(
            f"/api/v1/models/{model.pk}/", {"team": "ml"}, content_type="application/json", headers={"If-Match": etag}
        )
        outcome["patch"] = response.status_code
        connection.close()

    writer = threading.Thread(target=refresh_batch)
    writer.start()
    assert lineage_held.wait(timeout=30)
    patcher = threading.Thread(target=correct)
    patcher.start()

    def patch_is_waiting_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            return cursor.fetchone()[0] > 0

    deadline = time.monotonic() + 30
    while not patch_is_waiting_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    patch_waits.set()
    writer.join(timeout=60)
    patcher.join(timeout=60)

    assert outcome == {"refresh": "committed", "patch": 200}
    assert AIModel.objects.get(pk=model.pk).team == "ml"
