"""The base class of tasks sent through the outbox."""

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from celery.exceptions import Retry
from django.utils import timezone

from core import outbox
from core.request_context import bound_request_id

logger = logging.getLogger(__name__)


def _retry_time(when: datetime | float | int | None) -> datetime:
    if isinstance(when, datetime):
        return when
    return timezone.now() + timedelta(seconds=float(when or 0))


class OutboxTask(Task):
    """Claims its outbox row before running, so each message runs once however often it arrives.

    The row's request id becomes the task's, so its log lines carry the id of the request that
    caused it. A copy of a message that is finished or running elsewhere is dropped.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        message_id = self.request.id
        tracked, message = outbox.claim(message_id=message_id)
        if not tracked:
            return super().__call__(*args, **kwargs)
        if message is None:
            logger.info(
                "skipped a copy of a message that is finished or running elsewhere", extra={"task_id": message_id}
            )
            return None
        with bound_request_id(message.request_id):
            try:
                result = super().__call__(*args, **kwargs)
            except Retry as retry:
                outbox.release(message_id=message_id, retry_at=_retry_time(retry.when))
                raise
            except Exception as exc:
                outbox.finish(message_id=message_id, error=f"{type(exc).__name__}: {exc}")
                raise
            outbox.finish(message_id=message_id)
            return result
