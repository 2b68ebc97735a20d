"""One model's fetch, with the retry rules: backoff with jitter for transient errors, the hub's
Retry-After for rate limits, and no retry for what cannot change (not found, permanent); and how
long a model whose refresh failed is left alone afterwards."""

import logging
import random
import time

from django.conf import settings

from inventory.refresh import throttle
from inventory.sources.base import PermanentError, RateLimited, TransientError, UpstreamRecord, UpstreamSource

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (1, 2, ...): exponential, capped, half of it random."""
    ceiling = min(settings.REFRESH_BACKOFF_MAX_SECONDS, settings.REFRESH_BACKOFF_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def fetch_with_retries(source: UpstreamSource, upstream_id: str) -> tuple[UpstreamRecord, int]:
    """The model's record and the number of attempts it took; raises the last ``SourceError``."""
    attempts = settings.REFRESH_MAX_ATTEMPTS
    for attempt in range(1, attempts + 1):
        throttle.wait_turn(source.name)
        try:
            return source.fetch(upstream_id), attempt
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(attempt)
            if attempt == attempts or wait > settings.REFRESH_MAX_RETRY_AFTER_SECONDS:
                raise
            throttle.pause(source.name, wait)
        except TransientError as exc:
            if attempt == attempts:
                raise
            wait = backoff_seconds(attempt)
            logger.info(
                "transient hub error, trying again",
                extra={"upstream_id": upstream_id, "attempt": attempt, "wait_seconds": wait, "error": str(exc)},
            )
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def retry_later_seconds(error: Exception) -> float:
    """How long registrations and the schedule leave a model alone after its refresh failed with
    ``error``: longer after a permanent error, and at least as long as a rate-limiting hub asked."""
    if isinstance(error, PermanentError):
        return settings.REFRESH_PERMANENT_ERROR_RETRY_SECONDS
    wait = settings.REFRESH_RETRY_FAILED_AFTER_SECONDS
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return max(wait, error.retry_after)
    return wait
