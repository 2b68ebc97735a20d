"""Background work runs in the worker, never in the request, and is neither lost nor run twice."""

import os
import signal
import uuid
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from core.changelog import Actor
from core.jobs import start_job
from core.models import Job, OutboxMessage
from tests.conftest import login
from tests.support.processes import start_worker, wait_until

ACTOR = Actor.system("test")


def wait_for_job(job_id: int, state: str = Job.State.SUCCEEDED, timeout: float = 60) -> Job:
    def finished() -> Job | None:
        job = Job.objects.get(pk=job_id)
        return job if job.state in Job.FINISHED_STATES else None

    job = wait_until(finished, timeout=timeout, what=f"job {job_id} to finish")
    assert job.state == state, (job.state, job.error, job.log)
    return job


@pytest.mark.smoke
def test_a_request_causes_work_that_runs_in_the_worker_with_the_request_id(worker, web, admin_credentials):
    web_server, base_url = web
    session = login(base_url, *admin_credentials)
    request_id = f"deploy-{uuid.uuid4().hex}"

    response = session.post(f"{base_url}/api/v1/jobs/worker-check/", headers={"X-Request-ID": request_id}, timeout=10)

    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    body = response.json()
    assert body["state"] == "queued", "the request must not have run the work itself"
    assert response.headers["Location"] == body["url"]
    job = wait_for_job(body["id"])
    assert job.request_id == request_id
    assert job.requested_by.username == admin_credentials[0]
    assert (job.progress_done, job.progress_total, job.attempts) == (1, 1, 1)
    worker_processes = worker.process_ids()
    assert job.result["pid"] in worker_processes
    assert not worker_processes & web_server.process_ids()

    status = session.get(body["url"], timeout=10).json()
    assert status["state"] == "succeeded"
    assert status["result"] == job.result

    def log_lines_with(service) -> list[dict]:
        return [line for line in service.json_lines() if line.get("request_id") == request_id]

    web_lines = log_lines_with(web_server)
    assert any(line["message"] == "request" and line["path"] == "/api/v1/jobs/worker-check/" for line in web_lines)
    worker_lines = wait_until(lambda: log_lines_with(worker), what="the worker's log lines for the request")
    assert {"job started", "worker check ran", "job succeeded"} <= {line["message"] for line in worker_lines}


@pytest.mark.smoke
def test_a_message_delivered_twice_runs_once(worker, transactional_db):
    job = start_job(actor=ACTOR, kind="worker_check")
    message = OutboxMessage.objects.get(kwargs={"job_id": job.pk})
    # The relay may hand a message over again (it crashed after publishing, or the broker was slow).
    current_app.send_task(message.task_name, kwargs=message.kwargs, task_id=str(message.id))

    wait_for_job(job.pk)
    wait_until(
        lambda: OutboxMessage.objects.filter(pk=message.pk, state="done").exists(), what="the message to be done"
    )
    message.refresh_from_db()
    assert message.run_count == 1
    assert Job.objects.get(pk=job.pk).attempts == 1
    # the second copy arrives and is dropped without running the job again
    wait_until(lambda: "skipped a copy of a message" in worker.log_text(), what="the worker to skip the second copy")
    assert Job.objects.get(pk=job.pk).attempts == 1


@pytest.mark.smoke
def test_a_worker_killed_mid_job_loses_nothing(worker, transactional_db):
    job = start_job(actor=ACTOR, kind="worker_check", params={"hold_seconds": 5})

    running = wait_until(
        lambda: Job.objects.filter(pk=job.pk, state="running").exclude(log="").first(),
        what="the job to start",
    )
    victim = int(running.log.split("in process ")[1].split()[0])
    assert victim in worker.process_ids()
    os.kill(victim, signal.SIGKILL)

    finished = wait_for_job(job.pk, timeout=90)
    assert finished.attempts == 2
    assert finished.result["pid"] != victim
    assert "an earlier attempt stopped before it finished" in finished.log
    assert OutboxMessage.objects.get(kwargs={"job_id": job.pk}).state == "done"


@pytest.mark.smoke
def test_the_worker_runs_the_periodic_schedule(service_env, logs_dir, tmp_path, transactional_db):
    long_ago = timezone.now() - timedelta(days=30)
    finished = OutboxMessage.objects.create(
        task_name="core.run_job", state="done", available_at=long_ago, finished_at=long_ago
    )
    # A data folder of its own: beat keeps its schedule there, and no other beat may share it.
    env = {
        **service_env,
        "DATA_DIR": str(tmp_path),
        "OUTBOX_PURGE_EVERY_SECONDS": "1",
        "REFRESH_EVERY_SECONDS": "1",
    }
    scheduled_worker = start_worker(env=env, log_dir=logs_dir, name="scheduled-worker")
    try:
        wait_until(
            lambda: not OutboxMessage.objects.filter(pk=finished.pk).exists(),
            what="beat to run the outbox clean-up",
        )
        assert "Sending due task purge-finished-outbox-messages" in scheduled_worker.log_text()
        scheduled_refresh = wait_until(
            lambda: Job.objects.filter(kind="refresh_stale").first(), what="beat to start the refresh of stale models"
        )
        wait_for_job(scheduled_refresh.pk)
    finally:
        scheduled_worker.stop()
    assert scheduled_worker.json_lines(), "every line the worker logged, start to shutdown, is JSON"
