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
