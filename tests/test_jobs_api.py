"""The jobs API: who may start a worker check, input errors, and reading jobs."""

import pytest
from django.contrib.auth import get_user_model

from core.models import Job, OutboxMessage

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

WORKER_CHECK = "/api/v1/jobs/worker-check/"


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user(username="ops", password="x", is_staff=True)
    client.force_login(user)
    return user


def test_anonymous_may_not_start_work_and_nothing_is_stored(client):
    response = client.post(WORKER_CHECK)

    assert response.status_code == 403
    assert not Job.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_user_who_is_not_staff_may_not_start_work(client):
    client.force_login(get_user_model().objects.create_user(username="dev", password="x"))

    response = client.post(WORKER_CHECK)

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_staff_starts_a_worker_check_that_waits_for_a_worker(client, staff):
    response = client.post(WORKER_CHECK, {"hold_seconds": 2}, content_type="application/json")

    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.kind, job.state, job.params, job.requested_by) == (
        "worker_check",
        "queued",
        {"hold_seconds": 2.0},
        staff,
    )
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_invalid_input_names_the_field_and_stores_nothing(client, staff):
    response = client.post(WORKER_CHECK, {"hold_seconds": 3600}, content_type="application/json")

    assert response.status_code == 400
    assert "hold_seconds" in response.json()
    assert not Job.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_jobs_are_listed_for_signed_in_users_only(client, staff):
    client.post(WORKER_CHECK)

    listed = client.get("/api/v1/jobs/").json()
    client.logout()

    assert listed["count"] == 1
    assert listed["results"][0]["kind"] == "worker_check"
    assert client.get("/api/v1/jobs/").status_code == 403
