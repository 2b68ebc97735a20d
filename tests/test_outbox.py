"""The outbox: work exists exactly when its change commits, and each message is claimed once."""

import os
import socket
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from core import outbox
from core.models import OutboxMessage
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

    tracked, claimed = outbox.claim(message_id=str(message.id))
    again = outbox.claim(message_id=str(message.id))

    assert tracked
    assert (claimed.state, claimed.run_count, claimed.claimed_by) == ("started", 1, outbox.worker_identity())
    assert again == (True, None)


def test_a_finished_message_is_never_claimed_again():
    message = pending_message()
    outbox.claim(message_id=str(message.id))
    outbox.finish(message_id=str(message.id))

    assert outbox.claim(message_id=str(message.id)) == (True, None)
    message.refresh_from_db()
    assert (message.state, message.run_count) == ("done", 1)


def test_a_message_whose_worker_died_is_taken_over():
    message = pending_message(
        state="started",
        claimed_by=f"{socket.gethostname()}:{dead_pid()}",
        available_at=timezone.now() + timedelta(hours=1),
    )

    _, claimed = outbox.claim(message_id=str(message.id))

    assert claimed is not None
    assert claimed.claimed_by == outbox.worker_identity()


def test_a_message_running_on_another_host_waits_for_its_lease():
    running = pending_message(
        state="started", claimed_by="elsewhere:1", available_at=timezone.now() + timedelta(hours=1)
    )
    overdue = pending_message(state="started", claimed_by="elsewhere:1", available_at=timezone.now())

    assert outbox.claim(message_id=str(running.id)) == (True, None)
    assert outbox.claim(message_id=str(overdue.id))[1] is not None


def test_a_message_of_a_live_local_worker_is_not_taken():
    message = pending_message(
        state="started",
        claimed_by=f"{socket.gethostname()}:{os.getppid()}",
        available_at=timezone.now() + timedelta(hours=1),
    )

    assert outbox.claim(message_id=str(message.id)) == (True, None)


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid", None])
def test_tasks_sent_around_the_outbox_are_untracked(task_id):
    assert outbox.claim(message_id=task_id) == (False, None)


def test_release_gives_a_message_back_for_its_retry():
    message = pending_message()
    outbox.claim(message_id=str(message.id))
    retry_at = timezone.now() + timedelta(seconds=30)

    outbox.release(message_id=str(message.id), retry_at=retry_at)

    message.refresh_from_db()
    assert (message.state, message.claimed_by) == ("sent", "")
    assert message.available_at > retry_at
    assert outbox.claim(message_id=str(message.id))[1] is not None


def test_a_failure_is_recorded():
    message = pending_message()
    outbox.claim(message_id=str(message.id))

    outbox.finish(message_id=str(message.id), error="ValueError: bad")

    message.refresh_from_db()
    assert (message.state, message.last_error) == ("failed", "ValueError: bad")
    assert message.finished_at is not None


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
