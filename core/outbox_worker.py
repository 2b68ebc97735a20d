"""The outbox relay, run as a thread inside every Celery worker.

It needs no broker to keep going: while the broker is away it keeps the work due and tries again
each round, and hands everything over once the broker is back.
"""

import logging
import threading
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


class OutboxRelay(threading.Thread):
    """Calls ``publish_due`` every interval until stopped; drains a backlog without waiting."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="outbox-relay", daemon=True)
        self.interval = interval
        self._stopping = threading.Event()
        self._broker_down = False

    def run(self) -> None:
        from django.db import close_old_connections

        while not self._stopping.is_set():
            close_old_connections()
            if not self._relay_once():
                self._stopping.wait(self.interval)
        close_old_connections()

    def _relay_once(self) -> bool:
        """One round; True when a full batch went out and more may be waiting."""
        from django.db import DatabaseError

        from core.outbox import BrokerUnavailable, publish_due

        batch_size = 100
        try:
            published = publish_due(limit=batch_size)
        except BrokerUnavailable as exc:
            if not self._broker_down:
                logger.warning("outbox relay: broker unreachable, work stays queued", extra={"error": str(exc)})
            self._broker_down = True
            return False
        except DatabaseError as exc:
            logger.warning("outbox relay: database unreachable", extra={"error": str(exc)})
            return False
        except Exception:  # the relay must outlive any single failure
            logger.exception("outbox relay: round failed")
            return False
        if self._broker_down:
            logger.info("outbox relay: broker reachable again")
            self._broker_down = False
        return published == batch_size

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


class OutboxRelayStep(bootsteps.StartStopStep):
    """Worker bootstep that runs the relay beside the pool."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.relay: OutboxRelay | None = None

    def start(self, worker: Any) -> None:
        from django.conf import settings

        self.relay = OutboxRelay(interval=settings.OUTBOX_RELAY_INTERVAL_SECONDS)
        self.relay.start()

    def stop(self, worker: Any) -> None:
        if self.relay is not None:
            self.relay.stop()
