"""A refresh run: many models at once, waiting on the hub rather than the CPU.

Fetches run in a pool of HUB_MAX_IN_FLIGHT threads (the requests in flight); this thread holds
each model's lock and writes every result, so the database sees one writer per run. Base models a
refresh names join the run (up to LINEAGE_MAX_DEPTH levels above the models asked for, each once),
so when the run ends the origins of everything it touched are current.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from core.changelog import Actor
from inventory import origin
from inventory.models import AIModel
from inventory.refresh import lease
from inventory.refresh.fetch import fetch_with_retries
from inventory.services import upstream
from inventory.sources import REFRESHABLE_SOURCES, source_for
from inventory.sources.base import NotFound, SourceError, UpstreamRecord

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """How a run ended, model by model."""

    ok: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    beyond_depth: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, object]:
        return {
            "refreshed": len(self.ok),
            "changed": self.changed,
            "gone": self.gone,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_followed_beyond_depth": self.beyond_depth,
        }


def _ignore(*args: object, **kwargs: object) -> None:
    return None


@dataclass
class _Item:
    model_id: int
    depth: int


class RefreshRun:
    """Refresh models and the base models they name; report progress as (done, total)."""

    def __init__(
        self,
        *,
        actor: Actor,
        on_progress: Callable[..., None] = _ignore,
        on_log: Callable[[str], None] = _ignore,
    ) -> None:
        self.actor = actor
        self.on_progress = on_progress
        self.on_log = on_log
        self.holder = lease.new_holder()
        self.started_at = timezone.now()
        self.summary = RunSummary()
        self._queue: deque[_Item] = deque()
        self._seen: set[int] = set()
        self._done = 0

    def run(self, model_ids: Iterable[int]) -> RunSummary:
        for model_id in model_ids:
            self._add(model_id, depth=0)
        self._report()
        in_flight: dict[Future[tuple[UpstreamRecord, int]], tuple[AIModel, int]] = {}
        with ThreadPoolExecutor(max_workers=settings.HUB_MAX_IN_FLIGHT, thread_name_prefix="hub-fetch") as pool:
            while self._queue or in_flight:
                waiting = self._start_fetches(pool, in_flight)
                if in_flight:
                    poll = settings.REFRESH_LOCK_POLL_SECONDS
                    finished, _ = wait(in_flight, timeout=poll, return_when=FIRST_COMPLETED)
                    for future in finished:
                        model, depth = in_flight.pop(future)
                        self._finish(model, depth, future)
                elif waiting:
                    time.sleep(settings.REFRESH_LOCK_POLL_SECONDS)
        return self.summary

    def _add(self, model_id: int, depth: int) -> None:
        if model_id not in self._seen:
            self._seen.add(model_id)
            self._queue.append(_Item(model_id, depth))

    def _report(self) -> None:
        self.on_progress(done=self._done, total=len(self._seen))

    def _start_fetches(self, pool: ThreadPoolExecutor, in_flight: dict) -> bool:
        """Start fetches up to the in-flight limit; returns whether some model waits for its lock."""
        held_elsewhere: list[_Item] = []
        while self._queue and len(in_flight) < settings.HUB_MAX_IN_FLIGHT:
            item = self._queue.popleft()
            if not lease.try_acquire(model_id=item.model_id, holder=self.holder):
                held_elsewhere.append(item)
                continue
            model = AIModel.objects.filter(pk=item.model_id).first()
            if model is None:  # deleted meanwhile
                lease.release(model_id=item.model_id, holder=self.holder)
                self._count_done()
            elif model.source not in REFRESHABLE_SOURCES:
                self.summary.skipped[str(model)] = f"models from {model.source} are not refreshed from a hub"
                lease.release(model_id=model.pk, holder=self.holder)
                self._count_done()
            elif model.refreshed_at is not None and model.refreshed_at >= self.started_at:
                self._refreshed_elsewhere(model, item.depth)  # another run did it while we waited
            else:
                future = pool.submit(fetch_with_retries, source_for(model.source), model.upstream_id)
                in_flight[future] = (model, item.depth)
        self._queue.extend(held_elsewhere)
        return bool(held_elsewhere)

    def _finish(self, model: AIModel, depth: int, future: Future[tuple[UpstreamRecord, int]]) -> None:
        label = str(model)
        try:
            try:
                record, attempts = future.result()
            except NotFound as exc:
                upstream.record_gone(actor=self.actor, model=model, reason=str(exc))
                self.summary.gone.append(label)
                self.on_log(f"{label}: gone ({exc})")
                return
            except SourceError as exc:
                self._fail(model, f"{type(exc).__name__}: {exc}")
                return
            outcome = upstream.record_refresh(actor=self.actor, model=model, record=record)
        except Exception as exc:  # a bug or a database error: this model fails, the run goes on
            logger.exception("refresh failed", extra={"model": label})
            self._fail(model, f"{type(exc).__name__}: {exc}")
            return
        finally:
            lease.release(model_id=model.pk, holder=self.holder)
            self._count_done()
        self.summary.ok.append(label)
        if outcome.upstream_changes:
            self.summary.changed.append(label)
            self.on_log(f"{label}: changed upstream: {', '.join(outcome.upstream_changes)}")
        if attempts > 1:
            self.on_log(f"{label}: refreshed after {attempts} attempts")
        self._follow(outcome.parent_ids, depth, label)

    def _refreshed_elsewhere(self, model: AIModel, depth: int) -> None:
        lease.release(model_id=model.pk, holder=self.holder)
        self.summary.ok.append(str(model))
        self._count_done()
        self._follow(upstream.parent_ids(model), depth, str(model))

    def _follow(self, parent_ids: list[int], depth: int, label: str) -> None:
        new = [parent_id for parent_id in parent_ids if parent_id not in self._seen]
        if not new:
            return
        if depth + 1 > origin.max_depth():
            self.summary.beyond_depth.append(label)
            self.on_log(f"{label}: its base models are beyond the depth bound ({origin.max_depth()}), not followed")
            return
        for parent_id in new:
            self._add(parent_id, depth + 1)
        self._report()

    def _fail(self, model: AIModel, error: str) -> None:
        try:
            upstream.record_failure(actor=self.actor, model=model, error=error)
        finally:
            self.summary.failed[str(model)] = error
            self.on_log(f"{model}: failed: {error}")

    def _count_done(self) -> None:
        self._done += 1
        self._report()
