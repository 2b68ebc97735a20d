"""The per-source request budget: at most HUB_REQUESTS_PER_SECOND requests to one hub, and a pause
for everyone after the hub said Retry-After. Counted in the cache, so every process sharing
CACHE_URL (Redis) shares one budget."""

import time

from django.conf import settings
from django.core.cache import cache


def wait_turn(source: str) -> None:
    """Block until one more request to ``source`` fits its budget, then count it."""
    while True:
        now = time.time()
        paused_until = cache.get(f"hub-paused:{source}")
        if paused_until is not None and paused_until > now:
            time.sleep(paused_until - now)
            continue
        second = int(now)
        key = f"hub-rate:{source}:{second}"
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr: count again
            continue
        if count <= settings.HUB_REQUESTS_PER_SECOND:
            return
        time.sleep(max(second + 1 - time.time(), 0.0))


def pause(source: str, seconds: float) -> None:
    """Hold every request to ``source`` back for ``seconds`` (the hub asked us to)."""
    cache.set(f"hub-paused:{source}", time.time() + seconds, timeout=int(seconds) + 1)
