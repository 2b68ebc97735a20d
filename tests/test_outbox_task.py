"""OutboxTask: the claim around a task's run, its retries, failures and giving up."""

import os
import socket
import subprocess

import pytest
from celery import shared_task
from django.test import override_settings
from django.utils import timezone

from core.changelog import Actor
from core.jobs import start_job
from core.models import OutboxMessage
from core.outbox_task import OutboxTask
from core.tasks import run_job

ACTOR = Actor.system("test")
pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

calls: list[str] = []


@shared_task(base=OutboxTask, bind=True, name="tests.behave", max_retries=1)
def behave(self, how: str) -> str:
    calls.append(how)
    if how == "fail":
        raise ValueError("it broke")
    if how == "retry":
        raise self.retry(countdown=60)
    return how


@pytest.fixture(autouse=True)
def _forget_calls():
    calls.clear()


def message_for(how: str, **fields) -> OutboxMessage:
    defaults = {"task_name": "tests.behave", "kwargs": {"how": how}, "available_at": timezone.now()}
    return OutboxMessage.objects.create(**{**defaults, **fields})


def run(message: OutboxMessage):
    return behave.apply(kwargs=message.kwargs, task_id=str(message.id))


def test_a_successful_run_finishes_its_message():
    message = message_for("ok")

    assert run(message).get() == "ok"

    message.refresh_from_db()
    assert (message.state, message.run_count, message.last_error) == ("done", 1, "")


def test_a_finished_message_does_not_run_again():
    message = message_for("ok", state="done")

    run(message)

    assert calls == []


def test_a_failing_run_fails_its_message_with_the_reason():
    message = message_for("fail")

    assert run(message).failed()

    message.refresh_from_db()
    assert (message.state, message.last_error) == ("failed", "ValueError: it broke")


def test_a_retry_releases_the_message_for_the_next_attempt_and_fails_past_the_limit():
    message = message_for("retry")

    run(message)  # eager: the retry runs at once, claims the released message, and exceeds max_retries=1

    message.refresh_from_db()
    assert calls == ["retry", "retry"], "the second attempt could claim the message the first released"
    assert (message.state, message.run_count) == ("failed", 1)  # a retry ends its run: counted afresh
    assert message.last_error.startswith("MaxRetriesExceededError")


@override_settings(OUTBOX_MAX_RUNS=2)
def test_a_job_whose_runs_keep_dying_is_failed_with_the_reason():
    job = start_job(actor=ACTOR, kind="worker_check")
    message = OutboxMessage.objects.get(kwargs={"job_id": job.pk})
    gone = subprocess.Popen(["true"])
    gone.wait()
    OutboxMessage.objects.filter(pk=message.pk).update(
        state="started", run_count=2, claimed_by=f"{socket.gethostname()}:{gone.pid}"
    )

    run_job.apply(kwargs={"job_id": job.pk}, task_id=str(message.id))

    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "gave up: started 2 times without finishing")
    assert os.getpid() not in (job.result or {}).values()
