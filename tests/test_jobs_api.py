"""The jobs API: who may start a worker check, input errors, and reading jobs."""

import pytest
from django.contrib.auth import get_user_model

from core.access import set_user_access
from core.changelog import Actor
from core.models import ChangeLogEntry, Job, OutboxMessage

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

WORKER_CHECK = "/api/v1/jobs/worker-check/"


def person(client, role: str):
    user = get_user_model().objects.create_user(username=f"a-{role}", password="x")
    set_user_access(actor=Actor.system("test"), user=user, role=role)
    client.force_login(user)
    return user


@pytest.fixture
def operator(client):
    return person(client, "admin")


def test_anonymous_may_not_start_work_and_nothing_is_stored(client):
    response = client.post(WORKER_CHECK)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not Job.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "deployer", "editor", "auditor"])
def test_only_admins_may_start_work(client, role):
    person(client, role)

    response = client.post(WORKER_CHECK)

    assert response.status_code == 403
    assert "administer" in response.json()["detail"]
    assert not Job.objects.exists()


def test_an_admin_starts_a_worker_check_that_waits_for_a_worker(client, operator):
    response = client.post(WORKER_CHECK, {"hold_seconds": 2}, content_type="application/json")

    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.kind, job.state, job.params, job.requested_by) == (
        "worker_check",
        "queued",
        {"hold_seconds": 2.0},
        operator,
    )
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert response.json()["request_id"] == response["X-Request-ID"]
    row = ChangeLogEntry.objects.get(object_type="core.job")
    assert (row.actor_kind, row.actor_name, row.request_id) == ("user", operator.username, response["X-Request-ID"])


def test_invalid_input_is_a_problem_naming_the_field_and_stores_nothing(client, operator):
    response = client.post(WORKER_CHECK, {"hold_seconds": 3600}, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["title"]) == (400, "Bad Request")
    assert [error["field"] for error in body["errors"]] == ["hold_seconds"]
    assert not Job.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_jobs_are_listed_for_signed_in_users_only(client, operator):
    client.post(WORKER_CHECK, {}, content_type="application/json")

    listed = client.get("/api/v1/jobs/").json()
    client.logout()

    assert listed["count"] == 1
    assert listed["results"][0]["kind"] == "worker_check"
    assert client.get("/api/v1/jobs/").status_code == 401
