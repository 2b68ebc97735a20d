"""The base class of tasks sent through the outbox."""

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from celery.exceptions import Reject, Retry
from django.utils import timezone

from core import outbox
from core.outbox import Claim
from core.request_context import bound_request_id

logger = logging.getLogger(__name__)


class OutboxTask(Task):
    """Claims its outbox row before running, so each message runs once however often it arrives.

    The row's request id becomes the task's, so its log lines carry the id of the request that
    caused it. A copy of a message that is finished or running elsewhere is dropped. A message
    whose runs keep dying is given up: ``gave_up`` is called, for the task to record the failure.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        message_id = self.request.id
        verdict, message = outbox.claim(message_id=message_id)
        if verdict is Claim.UNTRACKED:
            return super().__call__(*args, **kwargs)
        if verdict is Claim.SKIP:
            logger.info(
                "skipped a copy of a message that is finished or running elsewhere", extra={"task_id": message_id}
            )
            return None
        with bound_request_id(message.request_id):
            if verdict is Claim.GIVE_UP:
                logger.error("gave up a message whose runs kept dying", extra={"task_id": message_id})
                self.gave_up(message.last_error, *args, **kwargs)
                return None
            try:
                result = super().__call__(*args, **kwargs)
            except (Retry, Reject):
                raise  # released by ``retry`` before it sent the next attempt
            except Exception as exc:
                outbox.finish(message_id=message_id, error=f"{type(exc).__name__}: {exc}")
                raise
            outbox.finish(message_id=message_id)
            return result

    def retry(self, *args: Any, countdown: float | None = None, eta: datetime | None = None, **kwargs: Any) -> Retry:
        """Release the claim first, so the next attempt (or, if the broker is away, the relay) can claim it."""
        if eta is None:
            delay = countdown if countdown is not None else self.default_retry_delay
            retry_at = timezone.now() + timedelta(seconds=delay)
        else:
            retry_at = eta
        max_retries = kwargs.get("max_retries", self.max_retries)
        if max_retries is None or self.request.retries < max_retries:
            error = kwargs.get("exc")
            outbox.release(
                message_id=self.request.id,
                retry_at=retry_at,
                error=f"{type(error).__name__}: {error}" if error is not None else "",
            )
        # else Celery raises the task's error, and the claim ends as failed in __call__
        return super().retry(*args, countdown=countdown, eta=eta, **kwargs)

    def gave_up(self, reason: str, *args: Any, **kwargs: Any) -> None:
        """Called instead of the task when its message is given up; record the failure here."""
