"""The transactional outbox: work recorded with the change that causes it, relayed to the broker.

``enqueue`` writes a row in the caller's transaction, so the work exists exactly when the change
does. The relay (``publish_due``, run by every worker and tried once right after commit) hands due
rows to the broker and leaves them due again if it cannot. A worker ``claim``s a row before running
it, which makes the second copy of a message that was handed over twice a no-op.
"""

import enum
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from core.models import OutboxMessage
from core.processes import process_identity, process_is_gone
from core.request_context import current_request_id

logger = logging.getLogger(__name__)

State = OutboxMessage.State
UNFINISHED = (State.PENDING, State.SENT, State.STARTED)


class BrokerUnavailable(Exception):
    """The broker refused or timed out a publish; the messages stay due."""


def enqueue(*, task_name: str, kwargs: dict[str, Any]) -> OutboxMessage:
    """Record ``task_name(**kwargs)`` in the current transaction, to run once it commits."""
    return enqueue_many(task_name=task_name, kwargs_list=[kwargs])[0]


# Work recorded in bulk is handed over right after commit up to this many messages; the relay takes the rest.
_RIGHT_AWAY_AT_MOST = 100


def enqueue_many(*, task_name: str, kwargs_list: list[dict[str, Any]]) -> list[OutboxMessage]:
    """``enqueue`` for many calls of one task, in one statement."""
    now = timezone.now()
    request_id = current_request_id()
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(task_name=task_name, kwargs=kwargs, request_id=request_id, available_at=now)
        for kwargs in kwargs_list
    )
    if messages:
        first = [message.id for message in messages[:_RIGHT_AWAY_AT_MOST]]
        transaction.on_commit(lambda: _publish_right_away(first))
    return messages


def _publish_right_away(message_ids: list[uuid.UUID]) -> None:
    # A shortcut for latency only: the change is committed, so whatever goes wrong here (broker
    # away, database busy) must not reach the caller; the relay hands the work over later.
    try:
        publish_due(ids=message_ids, limit=len(message_ids))
    except Exception as exc:
        logger.warning("could not hand work over right away; the relay will", extra={"error": str(exc)})


def publish_due(*, ids: list[uuid.UUID] | None = None, limit: int = 100) -> int:
    """Hand up to ``limit`` due messages to the broker and return how many were handed over.

    Each row is first stamped with a later ``available_at`` so that other relays skip it; a row
    the broker did not take gets its stamp reset to now, due for the next round.
    """
    now = timezone.now()
    stamp = now + timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS)
    with transaction.atomic():
        due = OutboxMessage.objects.filter(state__in=UNFINISHED, available_at__lte=now)
        if ids is not None:
            due = due.filter(id__in=ids)
        batch = list(due.select_for_update(skip_locked=True).order_by("available_at")[:limit])
        OutboxMessage.objects.filter(id__in=[message.id for message in batch]).update(available_at=stamp)
        # A started message whose lease ran out lost its worker: it is anybody's again.
        OutboxMessage.objects.filter(id__in=[message.id for message in batch], state=State.STARTED).update(
            state=State.SENT, claimed_by=""
        )

    for position, message in enumerate(batch):
        try:
            current_app.send_task(message.task_name, kwargs=message.kwargs, task_id=str(message.id), retry=False)
        except Exception as exc:  # kombu raises several unrelated types for "broker away"
            unsent = [unsent_message.id for unsent_message in batch[position:]]
            OutboxMessage.objects.filter(id__in=unsent, available_at=stamp).update(available_at=now)
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        OutboxMessage.objects.filter(id=message.id).update(publish_count=F("publish_count") + 1)
        # A fast worker may already have claimed it: only a pending row becomes "sent".
        OutboxMessage.objects.filter(id=message.id, state=State.PENDING).update(state=State.SENT)
    return len(batch)


def _claimable(message: OutboxMessage) -> bool:
    if message.state in (State.PENDING, State.SENT):
        return True
    # Started, but its worker process died (killed, out of memory): the work is not done. A worker
    # on another host that died is found by its lease running out (see publish_due).
    return message.state == State.STARTED and process_is_gone(message.claimed_by)


class Claim(enum.Enum):
    """What a worker may do with a message it received."""

    RUN = "run"  # claimed: run it
    SKIP = "skip"  # finished, or running elsewhere: drop this copy
    GIVE_UP = "give up"  # started too often without finishing: now failed
    UNTRACKED = "untracked"  # not sent through the outbox: run it as Celery would


def claim(*, message_id: str | None) -> tuple[Claim, OutboxMessage | None]:
    """Take a message for this process before running it; see ``Claim`` for the answers."""
    try:
        uuid.UUID(message_id)
    except (TypeError, ValueError):
        return Claim.UNTRACKED, None
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return Claim.UNTRACKED, None
        if not _claimable(message):
            return Claim.SKIP, message
        if message.run_count >= settings.OUTBOX_MAX_RUNS:
            message.state = State.FAILED
            message.last_error = f"gave up: started {message.run_count} times without finishing"
            message.finished_at = timezone.now()
            message.save(update_fields=["state", "last_error", "finished_at"])
            return Claim.GIVE_UP, message
        message.state = State.STARTED
        message.claimed_by = process_identity()
        message.run_count += 1
        message.available_at = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        message.save(update_fields=["state", "claimed_by", "run_count", "available_at"])
    return Claim.RUN, message


def _owned(message_id: str) -> "models.QuerySet[OutboxMessage]":
    # Only the claimant may end its claim: after a takeover, the old process's word no longer counts.
    return OutboxMessage.objects.filter(pk=message_id, state=State.STARTED, claimed_by=process_identity())


def finish(*, message_id: str, error: str = "") -> None:
    """Record that the claimed message ran to its end, successfully or not."""
    _owned(message_id).update(state=State.FAILED if error else State.DONE, last_error=error, finished_at=timezone.now())


def release(*, message_id: str, retry_at: datetime, error: str = "") -> None:
    """Give a claimed message back, to run again at ``retry_at`` (or when the relay next sends it).

    The run ended (with ``error``, kept for whoever looks): it does not count towards the runs
    that died without ending, which ``OUTBOX_MAX_RUNS`` caps.
    """
    redeliver_at = retry_at + timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS)
    _owned(message_id).update(state=State.SENT, available_at=redeliver_at, claimed_by="", run_count=0, last_error=error)


def purge_finished(*, older_than_days: int) -> int:
    """Delete finished messages older than the given age; returns how many went."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(state__in=(State.DONE, State.FAILED), finished_at__lt=cutoff).delete()
    return deleted
