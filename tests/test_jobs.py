"""Jobs: recorded with their work, run by a handler, finished once."""

import pytest
from django.db import IntegrityError, transaction

from core.changelog import Actor
from core.jobs import job_handler, job_kinds, run_job, start_job
from core.models import Job, OutboxMessage

ACTOR = Actor.system("test")
pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@job_handler("test_counting")
def counting(run):
    run.progress(done=0, total=3)
    for done in range(1, 4):
        run.log(f"step {done}")
        run.progress(done=done)
    return {"counted": 3}


@job_handler("test_failing")
def failing(run):
    run.log("about to fail")
    raise ValueError("upstream said no")


def test_start_job_records_the_job_and_its_work_together():
    job = start_job(actor=ACTOR, kind="test_counting", params={"a": 1})

    message = OutboxMessage.objects.get()
    assert (message.task_name, message.kwargs) == ("core.run_job", {"job_id": job.pk})
    assert (job.state, job.params, job.attempts) == ("queued", {"a": 1}, 0)


def test_an_unknown_kind_is_refused_and_nothing_is_stored():
    with pytest.raises(ValueError, match=r"unknown job kind 'nope'; known kinds: .*worker_check"):
        start_job(actor=ACTOR, kind="nope")

    assert not Job.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_job_reports_progress_log_and_result():
    job = start_job(actor=ACTOR, kind="test_counting")

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.progress_done, job.progress_total, job.result) == ("succeeded", 3, 3, {"counted": 3})
    assert [line.split(" ", 1)[1] for line in job.log.splitlines()] == ["step 1", "step 2", "step 3"]
    assert job.started_at <= job.finished_at


def test_a_failing_handler_fails_the_job_with_its_reason():
    job = start_job(actor=ACTOR, kind="test_failing")

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "ValueError: upstream said no")
    assert "about to fail" in job.log
    assert "failed: ValueError: upstream said no" in job.log


def test_running_a_finished_job_again_changes_nothing():
    job = start_job(actor=ACTOR, kind="test_counting")
    run_job(job_id=job.pk)
    finished = Job.objects.get(pk=job.pk)

    run_job(job_id=job.pk)

    again = Job.objects.get(pk=job.pk)
    assert (again.attempts, again.finished_at, again.log) == (1, finished.finished_at, finished.log)


def test_a_handler_cannot_be_registered_twice_for_a_kind():
    with pytest.raises(ValueError, match="already has a handler"):
        job_handler("test_counting")(lambda run: None)
    assert "test_counting" in job_kinds()


def test_progress_beyond_the_total_is_refused_by_the_database():
    job = start_job(actor=ACTOR, kind="test_counting")

    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(progress_done=5, progress_total=3)
