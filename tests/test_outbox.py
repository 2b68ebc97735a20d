"""The outbox: work exists exactly when its change commits, and each message is claimed once."""

import os
import socket
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from core import outbox
from core.models import OutboxMessage
from core.outbox import Claim
from core.processes import process_identity
from core.request_context import bound_request_id

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def pending_message(**fields) -> OutboxMessage:
    defaults = {"task_name": "core.purge_outbox", "available_at": timezone.now()}
    return OutboxMessage.objects.create(**{**defaults, **fields})


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_work_of_a_rolled_back_change_never_exists():
    def change_that_fails() -> None:
        with transaction.atomic():
            outbox.enqueue(task_name="core.purge_outbox", kwargs={})
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert not OutboxMessage.objects.exists()


def test_enqueue_records_the_current_request_id():
    with bound_request_id("req-123"):
        message = outbox.enqueue(task_name="core.purge_outbox", kwargs={"a": 1})

    assert (message.request_id, message.kwargs, message.state) == ("req-123", {"a": 1}, "pending")


def test_publish_due_hands_a_message_over_once_until_it_is_due_again():
    message = pending_message()

    assert outbox.publish_due(ids=[message.id]) == 1
    assert outbox.publish_due(ids=[message.id]) == 0

    message.refresh_from_db()
    assert (message.state, message.publish_count) == ("sent", 1)
    assert message.available_at > timezone.now() + timedelta(minutes=10)


def test_a_broker_that_refuses_leaves_the_work_due(monkeypatch):
    message = pending_message()

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox.current_app, "send_task", refuse)
    with pytest.raises(outbox.BrokerUnavailable, match="Connection refused"):
        outbox.publish_due()

    message.refresh_from_db()
    assert (message.state, message.publish_count) == ("pending", 0)
    assert message.available_at <= timezone.now()


def test_claim_takes_a_message_once():
    message = pending_message()

    verdict, claimed = outbox.claim(message_id=str(message.id))
    again, _ = outbox.claim(message_id=str(message.id))

    assert verdict is Claim.RUN
    assert (claimed.state, claimed.run_count, claimed.claimed_by) == ("started", 1, process_identity())
    assert again is Claim.SKIP


def test_a_finished_message_is_never_claimed_again():
    message = pending_message()
    outbox.claim(message_id=str(message.id))
    outbox.finish(message_id=str(message.id))

    assert outbox.claim(message_id=str(message.id))[0] is Claim.SKIP
    message.refresh_from_db()
    assert (message.state, message.run_count) == ("done", 1)


def test_a_message_whose_local_worker_died_is_taken_over_at_once():
    claimant = f"{socket.gethostname()}:{dead_pid()}"
    message = pending_message(state="started", claimed_by=claimant, available_at=timezone.now() + timedelta(hours=1))

    verdict, claimed = outbox.claim(message_id=str(message.id))

    assert verdict is Claim.RUN
    assert claimed.claimed_by == process_identity()


def test_a_message_of_a_live_local_worker_is_not_taken():
    claimant = f"{socket.gethostname()}:{os.getppid()}"
    message = pending_message(state="started", claimed_by=claimant, available_at=timezone.now() + timedelta(hours=1))

    assert outbox.claim(message_id=str(message.id))[0] is Claim.SKIP


def test_a_message_whose_lease_ran_out_on_another_host_is_sent_again_and_taken_over():
    running = pending_message(
        state="started", claimed_by="elsewhere:1", available_at=timezone.now() + timedelta(hours=1)
    )
    overdue = pending_message(state="started", claimed_by="elsewhere:1", available_at=timezone.now())
    assert outbox.claim(message_id=str(running.id))[0] is Claim.SKIP, "its lease still runs"

    assert outbox.publish_due(ids=[overdue.id, running.id]) == 1

    overdue.refresh_from_db()
    assert (overdue.state, overdue.claimed_by, overdue.publish_count) == ("sent", "", 1)
    verdict, claimed = outbox.claim(message_id=str(overdue.id))
    assert verdict is Claim.RUN
    assert claimed.run_count == 1


def test_only_the_claimant_ends_its_claim():
    message = pending_message(state="started", claimed_by="elsewhere:1", available_at=timezone.now())

    outbox.finish(message_id=str(message.id))
    outbox.release(message_id=str(message.id), retry_at=timezone.now())

    message.refresh_from_db()
    assert (message.state, message.claimed_by) == ("started", "elsewhere:1")


@override_settings(OUTBOX_MAX_RUNS=2)
def test_a_message_whose_runs_keep_dying_is_given_up():
    message = pending_message(state="started", claimed_by=f"{socket.gethostname()}:{dead_pid()}", run_count=2)

    verdict, _ = outbox.claim(message_id=str(message.id))

    assert verdict is Claim.GIVE_UP
    message.refresh_from_db()
    assert (message.state, message.run_count) == ("failed", 2)
    assert message.last_error == "gave up: started 2 times without finishing"


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid", None])
def test_tasks_sent_around_the_outbox_are_untracked(task_id):
    assert outbox.claim(message_id=task_id) == (Claim.UNTRACKED, None)


def test_release_gives_a_message_back_for_its_retry():
    message = pending_message()
    outbox.claim(message_id=str(message.id))
    retry_at = timezone.now() + timedelta(seconds=30)

    outbox.release(message_id=str(message.id), retry_at=retry_at)

    message.refresh_from_db()
    assert (message.state, message.claimed_by) == ("sent", "")
    assert message.available_at > retry_at
    assert outbox.claim(message_id=str(message.id))[0] is Claim.RUN


@override_settings(OUTBOX_MAX_RUNS=3)
def test_retries_are_not_runs_that_died():
    message = pending_message()
    for attempt in range(5):  # more retries than OUTBOX_MAX_RUNS
        assert outbox.claim(message_id=str(message.id))[0] is Claim.RUN
        outbox.release(message_id=str(message.id), retry_at=timezone.now(), error=f"RuntimeError: try {attempt}")

    message.refresh_from_db()
    assert (message.state, message.last_error) == ("sent", "RuntimeError: try 4")
    assert outbox.claim(message_id=str(message.id))[0] is Claim.RUN


def test_a_failure_is_recorded():
    message = pending_message()
    outbox.claim(message_id=str(message.id))

    outbox.finish(message_id=str(message.id), error="ValueError: bad")

    message.refresh_from_db()
    assert (message.state, message.last_error) == ("failed", "ValueError: bad")
    assert message.finished_at is not None


def test_work_is_handed_over_right_after_commit_without_the_relay(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(task_name="core.purge_outbox", kwargs={})

    message.refresh_from_db()
    assert (message.state, message.publish_count) == ("sent", 1)


def test_a_failure_right_after_commit_does_not_reach_the_caller(monkeypatch, django_capture_on_commit_callbacks):
    def database_busy(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(outbox, "publish_due", database_busy)
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(task_name="core.purge_outbox", kwargs={})

    message.refresh_from_db()
    assert (message.state, message.publish_count) == ("pending", 0)


def test_purge_deletes_only_old_finished_messages():
    old = timezone.now() - timedelta(days=8)
    old_done = pending_message(state="done", finished_at=old)
    old_failed = pending_message(state="failed", finished_at=old)
    recent_done = pending_message(state="done", finished_at=timezone.now())
    waiting = pending_message()

    assert outbox.purge_finished(older_than_days=7) == 2

    remaining = set(OutboxMessage.objects.values_list("id", flat=True))
    assert remaining == {recent_done.id, waiting.id}
    assert not {old_done.id, old_failed.id} & remaining


def test_the_database_refuses_an_unknown_state():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        pending_message(state="lost")
